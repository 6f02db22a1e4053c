"""The meter end to end in one process: simulated GPUs, real job processes, signed batches."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from gpubarter.chain.accounts import dev_account
from oracle import logs
from oracle import reports as rep
from oracle.jobs import register_pid
from oracle.meter import Meter, Signer
from oracle.meter_store import MeterStore
from oracle.simulated import SimulatedBackend

CONTRACT = "0x" + "11" * 20


@pytest.fixture
def sleeper():
    procs = []

    def start() -> int:
        p = subprocess.Popen(["sleep", "60"])
        procs.append(p)
        return p.pid

    yield start
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def rig(tmp_path: Path, clock):
    store = MeterStore(tmp_path / "meter.sqlite")
    backend = SimulatedBackend(2, clock=clock, idle_w=100, busy_w=500, sample_period_s=0.25)
    signer = Signer(dev_account(4), 31337, CONTRACT)
    meter = Meter(
        backend, store, signer, sim_sm_pct=50, clock_ns=clock.ns, wall=lambda: 1_800_000_000
    )
    yield meter, store, backend
    store.close()


def test_a_job_on_a_simulated_gpu_accumulates_exact_counters(rig, clock, sleeper) -> None:
    meter, store, backend = rig
    register_pid(store, 9, sleeper(), gpus=[1])
    meter.sample()  # baseline; the job's process is placed on simulated GPU 1
    assert backend.placed() and list(backend.placed().values()) == [{1}]
    for _ in range(4):
        clock.advance(1.0)
        meter.sample()
    (c,) = store.counters()
    assert (c.job_id, c.gpu_uuid) == (9, "GPU-simulated-0001-0000-0000-000000000000")
    assert (c.allocated_ms, c.sm_active_ms, c.samples) == (4_000, 2_000, 4)
    # 100 W + 400 W x 50 % = 300 W for 4 s; the job is the only process: all of it.
    assert c.energy_mj == 1_200_000


def test_a_foreign_process_on_the_same_gpu_never_counts(rig, clock, sleeper) -> None:
    meter, store, backend = rig
    register_pid(store, 9, sleeper(), gpus=[0])
    meter.sample()
    backend.place(pid=sleeper(), gpu=0, sm_pct=50)  # someone else's process
    clock.advance(2.0)
    meter.sample()
    (c,) = store.counters()
    assert c.job_id == 9 and c.sm_active_ms == 1_000  # its own 50 % only
    # GPU at 100 % -> 500 W x 2 s = 1,000,000 mJ, half the SM activity is the job's.
    assert c.energy_mj == 500_000


def test_reports_are_cumulative_signed_and_persisted(rig, clock, sleeper) -> None:
    meter, store, _ = rig
    register_pid(store, 9, sleeper(), gpus=[0])
    register_pid(store, 10, sleeper(), gpus=[1])
    meter.sample()
    clock.advance(1.0)
    meter.sample()
    (first,) = meter.report()
    assert meter.report() == []  # nothing grew: nothing to sign
    clock.advance(1.0)
    meter.sample()
    (second,) = meter.report()
    b1, b2 = store.batch(first), store.batch(second)
    assert [r.job_id for r in b1.reports] == [9, 10] and b1.state == "signed" and b1.simulated
    for r1, r2 in zip(b1.reports, b2.reports, strict=True):
        assert r2.allocated_ms == r1.allocated_ms + 1_000 and r2.samples == r1.samples + 1
        assert r2.period_end == 1_800_000_000
    dom = rep.domain(31337, CONTRACT)
    digest = rep.batch_digest(dom, list(b2.reports))
    assert b2.digest == "0x" + digest.hex()
    assert (
        Account._recover_hash(digest, signature=bytes.fromhex(b2.signature[2:]))
        == dev_account(4).address
    )


def test_many_counters_are_split_into_batches(rig, clock, sleeper, monkeypatch) -> None:
    meter, store, _ = rig
    monkeypatch.setattr(rep, "MAX_BATCH", 2)
    for job in range(5):
        register_pid(store, job, sleeper(), gpus=[0])
    meter.sample()
    clock.advance(1.0)
    meter.sample()
    ids = meter.report()
    assert [len(store.batch(i).reports) for i in ids] == [2, 2, 1]


def test_a_dead_process_stops_counting(rig, clock) -> None:
    meter, store, backend = rig
    p = subprocess.Popen(["sleep", "60"])
    register_pid(store, 3, p.pid, gpus=[0])
    meter.sample()
    clock.advance(1.0)
    meter.sample()
    p.kill()
    p.wait()
    clock.advance(5.0)
    meter.sample()
    assert store.counters()[0].allocated_ms == 1_000 and backend.placed() == {}


def test_every_log_line_of_a_simulated_meter_says_simulated(rig, clock, sleeper) -> None:
    meter, store, _ = rig
    stream = io.StringIO()
    meter.log = logs.setup("simulated", stream=stream, level=logging.DEBUG)
    register_pid(store, 1, sleeper(), gpus=[0])
    meter.sample()
    clock.advance(1)
    meter.sample()
    meter.report()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all(d["simulated"] is True and d["backend"] == "simulated" for d in lines)
    assert not any("key" in k.lower() for d in lines for k in d)


def test_signer_repr_never_shows_the_key() -> None:
    signer = Signer(dev_account(4), 31337, CONTRACT)
    assert dev_account(4).key.hex()[2:] not in repr(signer) and "31337" in repr(signer)


def test_a_child_of_a_job_process_on_a_gpu_counts_for_the_job(rig, clock) -> None:
    meter, store, backend = rig
    parent = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        register_pid(store, 4, parent.pid, gpus=[0])
        meter.sample()
        backend.place(pid=child, gpu=1, sm_pct=100)  # the launcher's child runs on GPU 1
        clock.advance(1.0)
        meter.sample()
        by_gpu = {c.gpu_uuid.split("-")[2]: c for c in store.counters()}
        assert by_gpu["0001"].job_id == 4 and by_gpu["0001"].sm_active_ms == 1_000
        sources = {pid: src for pid, _, src in store.jobs()[0].processes}
        assert sources == {parent.pid: "registered", child: "child"}
    finally:
        parent.kill()
        os.kill(child, signal.SIGKILL)
        parent.wait()


def test_metrics_carry_units_and_forget_ended_jobs(tmp_path: Path, clock, sleeper) -> None:
    from prometheus_client import generate_latest

    from oracle.metrics import MeterMetrics

    store = MeterStore(tmp_path / "m.sqlite")
    metrics = MeterMetrics("simulated")
    meter = Meter(SimulatedBackend(1, clock=clock), store, None, clock_ns=clock.ns, metrics=metrics)
    register_pid(store, 31, sleeper(), gpus=[0])
    meter.sample()
    clock.advance(1)
    meter.sample()
    text = generate_latest(metrics.registry).decode()
    assert (
        'gpubarter_oracle_job_allocated_gpu_milliseconds_total{backend="simulated",job="31"' in text
    )
    assert 'gpubarter_oracle_simulated{backend="simulated"} 1.0' in text
    store.end_job(31)
    meter.sample()
    assert 'job="31"' not in generate_latest(metrics.registry).decode()
    assert meter.report() == []  # no signer: nothing is signed
    store.close()
