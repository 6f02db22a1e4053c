"""End to end on anvil: a job on a simulated GPU, metered by the real daemon, burns exactly the
metered credits; a daemon killed (SIGKILL) before or after sending resumes without losing or
double counting usage."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from compute_world import World
from metering_world import oracle_of

from gpubarter.deployments import save_deployment
from gpubarter.testing import wait_for
from oracle.reports import gpu_id
from oracle.store import MeterStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(world: World, chain, cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    save_deployment(world.deployment, Path(cli_env["GPUBARTER_DEPLOYMENTS_DIR"]))
    return {**cli_env, "GPUBARTER_LOCAL_RPC_URL": chain.url}


def _oracle(env: dict[str, str], db: Path, command: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "oracle", command, "--db", str(db), *args], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=db.with_suffix(".log").open("a"))


def _daemon(env: dict[str, str], db: Path, *extra: str) -> subprocess.Popen[bytes]:
    return _oracle(env, db, "run", "--backend", "simulated", "--sim-gpus", "1", "--interval", "0.2",
                   "--report-every", "1", "--no-metrics", "--submit", *extra)


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _metered_ms(db: Path, job: int) -> int:
    return _rows(db, f"SELECT allocated_ms FROM counters WHERE job_id='{job}'")[0][0]


def _onchain(world: World, job: int, uuid: str) -> tuple[int, int, int]:
    oracle = oracle_of(world)
    return (oracle.functions.cumulativeMs(job, gpu_id(uuid)).call(), world.holder.job(job).used_seconds,
            world.holder.series(world.series_id).burned)


def _uuid(db: Path, job: int) -> str:
    return _rows(db, f"SELECT gpu_uuid FROM counters WHERE job_id='{job}'")[0][0]


@pytest.mark.slow
def test_daemon_meters_a_job_and_burns_exactly_the_metered_credits(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    job = world.acked_job(3_600)
    burned_before = world.holder.series(world.series_id).burned
    db = tmp_path / "meter.sqlite"
    daemon = _daemon(env, db, "--duration", "6")
    run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "4")
    try:
        assert run_job.wait(timeout=60) == 0
        assert daemon.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
    finally:
        for p in (daemon, run_job):
            if p.poll() is None:
                p.kill()
    ms = _metered_ms(db, job)
    assert ms >= 3_000  # the job ran about 4 s on the simulated GPU
    assert [s for (s,) in _rows(db, "SELECT state FROM batches")] and not _rows(
        db, "SELECT id FROM batches WHERE state != 'confirmed'")
    cumulative, used, burned = _onchain(world, job, _uuid(db, job))
    assert (cumulative, used, burned - burned_before) == (ms, ms // 1000, ms // 1000)


@pytest.mark.slow
def test_sigkill_before_and_after_sending_loses_nothing_and_counts_nothing_twice(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    job = world.acked_job(3_600)
    db = tmp_path / "meter.sqlite"
    # Signed and persisted, never sent: a meter that cannot submit, killed.
    signing_only = _daemon(env, db, "--no-submit")
    run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "3")
    try:
        assert run_job.wait(timeout=60) == 0
        time.sleep(1)  # the sample in flight when the job ended
        wait_for("a signed batch", lambda: _rows(db, "SELECT id FROM batches WHERE state='signed'"))
        wait_for("the job's process gone from the counters",
                 lambda: _rows(db, "SELECT 1 FROM batches b JOIN reports r ON r.batch_id=b.id "
                                   f"WHERE r.allocated_ms = {_metered_ms(db, job)}"), timeout=30)
    finally:
        signing_only.send_signal(signal.SIGKILL)
        signing_only.wait()
    ms = _metered_ms(db, job)
    uuid = _uuid(db, job)
    assert _onchain(world, job, uuid)[0] == 0
    # Sent but not recorded: the batch went on-chain and the meter died before marking it.
    oracle = oracle_of(world)
    store = MeterStore(db)
    try:
        batch = store.batches("signed")[0]
        world.w3.provider.make_request("evm_mine", [])  # a current block to estimate on
        world.gov.sender.transact(oracle.functions.submit(
            [r.as_tuple() for r in batch.reports], [bytes.fromhex(batch.signature[2:])]))
    finally:
        store.close()
    assert _onchain(world, job, uuid)[0] > 0
    # Recorded as sent, but the chain never saw that transaction: queued again at restart.
    store = MeterStore(db)
    try:
        lost = store.batches("signed")[-1].id
        store.mark_submitted(lost, "0x" + "ab" * 32)
    finally:
        store.close()
    # Restart: every queued batch is sent (again, for the first); the chain counts each ms once.
    restarted = _daemon(env, db, "--duration", "2")
    assert restarted.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
    assert not _rows(db, "SELECT id FROM batches WHERE state != 'confirmed'")
    assert '"event":"batch queued again"' in db.with_suffix(".log").read_text()
    cumulative, used, _burned = _onchain(world, job, uuid)
    assert (cumulative, used) == (ms, ms // 1000)
