"""The daemon as users run it: subprocesses, SIGKILL and restart, metrics, CLI errors.

No test here bounds how long anything took: each waits for the state it needs (a batch signed, a
reading taken) and bounds what was counted by when the daemon itself counted it, so a loaded machine
only makes the tests slower.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from waiting import wait_for

from cli import main as cli_main
from gpubarter.chain.accounts import dev_account
from oracle.jobs import register_pid
from oracle.meter_store import MeterStore
from oracle.testing import fake_nvml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "0x" + "11" * 20
#: Two simulated GPUs at 50 % SM activity, reports every 0.4 s (the metering and restart tests' daemons).
SIM_TWO_GPUS = ("--backend", "simulated", "--sim-gpus", "2", "--sim-sm-util", "50", "--report-every", "0.4")
#: The jobs those daemons meter: job 5 pinned to GPU 1, job 6 to GPU 0, as (job id, GPU uuid).
TWO_JOBS = {
    ("5", "GPU-simulated-0001-0000-0000-000000000000"),
    ("6", "GPU-simulated-0000-0000-0000-000000000000"),
}
#: The transaction the restart scenario marks batch 1 submitted with, as the submitter would.
TX = "0x" + "ab" * 32
#: How long the restart scenario leaves the meter down: time that must not be counted.
DOWNTIME_S = 1.0

Key = tuple[str, str]


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        con.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return resp.read().decode()


def metric(port: int, name: str, **labels: str) -> float | None:
    """The value of the first sample of ``name`` whose labels include ``labels``, if any."""
    for family in text_string_to_metric_families(scrape(port)):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    return None


class Daemon:
    def __init__(self, db: Path, log: Path, env: dict[str, str], *args: str) -> None:
        self.db, self.log = db, log
        cmd = [
            sys.executable,
            "-m",
            "oracle",
            "run",
            "--db",
            str(db),
            "--interval",
            "0.2",
            "--verifying-contract",
            CONTRACT,
            "--metrics-port",
            "0",
            *args,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("a")
        )

    def started(self) -> dict[str, Any]:
        def meta() -> Any:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited {self.proc.returncode}: {self.log.read_text()}"
                )
            rows = query(self.db, "SELECT value FROM meta WHERE key='daemon'")
            doc = json.loads(rows[0][0]) if rows else None
            return doc if doc and doc["pid"] == self.proc.pid else None

        return wait_for("the daemon to start", meta)

    def terminate(self) -> None:
        """SIGTERM: the daemon takes a last sample, signs a last report and exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log_lines(self) -> list[dict[str, Any]]:
        """The log's JSON lines: every daemon started on the same database appends to one log."""
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]


class Processes:
    """The daemons and job processes a test (or a module's scenario) started; ``stop`` kills them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.daemons: list[Daemon] = []
        self.sleepers: list[subprocess.Popen[bytes]] = []

    def daemon(self, db: Path, *args: str, env: dict[str, str] | None = None) -> Daemon:
        self.daemons.append(Daemon(db, db.with_suffix(".log"), env or self.env, *args))
        return self.daemons[-1]

    def sleeper(self) -> int:
        """A process for a job to own (``sleep 300``); returns its pid."""
        self.sleepers.append(subprocess.Popen(["sleep", "300"]))
        return self.sleepers[-1].pid

    def stop(self) -> None:
        for d in self.daemons:
            d.stop()
        for p in self.sleepers:
            p.kill()
            p.wait()


@pytest.fixture
def procs(cli_env: dict[str, str]) -> Iterator[Processes]:
    started = Processes(cli_env)
    yield started
    started.stop()


def meter_two_jobs(procs: Processes, db: Path) -> tuple[Daemon, dict[str, Any]]:
    """Start a simulated two-GPU daemon on ``db`` and register ``TWO_JOBS`` with it; returns the
    daemon and its metadata."""
    daemon = procs.daemon(db, *SIM_TWO_GPUS)
    meta = daemon.started()
    store = MeterStore(db)
    try:
        register_pid(store, 5, procs.sleeper(), gpus=[1])
        register_pid(store, 6, procs.sleeper(), gpus=[0])
    finally:
        store.close()
    return daemon, meta


@pytest.fixture
def metering(procs: Processes, tmp_path: Path) -> tuple[Daemon, dict[str, Any]]:
    return meter_two_jobs(procs, tmp_path / "meter.sqlite")


def counters(db: Path) -> dict[Key, tuple[int, int, int, int]]:
    return {
        (j, g): (a, s, e, n)
        for j, g, a, s, e, n in query(
            db,
            "SELECT job_id, gpu_uuid, allocated_ms, sm_active_ms, energy_mj, samples FROM counters",
        )
    }


def batches(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT id, digest, signature, state, tx_hash FROM batches ORDER BY id")


def reports(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT batch_id, job_id, gpu_uuid, allocated_ms, sm_active_ms, energy_mj, "
        "samples FROM reports ORDER BY id",
    )


@dataclass(frozen=True)
class Snapshot:
    """A meter database's batches, reports and counters at one moment."""

    batches: list[tuple[Any, ...]]
    reports: list[tuple[Any, ...]]
    counters: dict[Key, tuple[int, int, int, int]]
    #: The wall time of each counter's last counted sample (the daemon's own ``updated_at``).
    counted_at: dict[Key, float]

    @classmethod
    def of(cls, db: Path) -> Snapshot:
        counted_at = {(j, g): t for j, g, t in query(db, "SELECT job_id, gpu_uuid, updated_at FROM counters")}
        return cls(batches(db), reports(db), counters(db), counted_at)


@dataclass(frozen=True)
class Restart:
    """A meter SIGKILLed after signing batches (the first marked submitted), left down for
    ``DOWNTIME_S``, then restarted on the same database until it counted both jobs again, and
    stopped with SIGTERM."""

    at_kill: Snapshot
    after: Snapshot
    #: The wall time just before the second daemon's process was started.
    restarted_at: float
    #: Both daemons' log lines (one log file), the first's before the second's.
    log: list[dict[str, Any]]


def subprocess_env(tmp: Path) -> dict[str, str]:
    """``cli_env`` (tests/conftest.py) for a module's scenario: that fixture is per test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUBARTER_")}
    env.update(GPUBARTER_STATE_DIR=str(tmp / "state"), GPUBARTER_DEPLOYMENTS_DIR=str(tmp / "deployments"))
    return env


@pytest.fixture(scope="module")
def restart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restart]:
    """The crash and restart, run once for the tests that each check one thing of it."""
    tmp = tmp_path_factory.mktemp("restart")
    procs = Processes(subprocess_env(tmp))
    try:
        db = tmp / "meter.sqlite"
        first, _meta = meter_two_jobs(procs, db)
        wait_for("three signed batches", lambda: len(batches(db)) >= 3)
        store = MeterStore(db)
        try:  # the submitter (next session) took batch 1: its state must survive the crash
            store.mark_submitted(batches(db)[0][0], TX)
        finally:
            store.close()
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        at_kill = Snapshot.of(db)
        time.sleep(DOWNTIME_S)  # the meter is down: this time is the thing that must not be counted
        restarted_at = time.time()
        second = procs.daemon(db, *SIM_TWO_GPUS)
        second.started()

        def counted_both_again() -> bool:
            now = counters(db)
            return all(now[key][3] > at_kill.counters[key][3] for key in at_kill.counters)

        wait_for("the restarted meter to count both jobs", counted_both_again)
        second.terminate()
        yield Restart(at_kill, Snapshot.of(db), restarted_at, second.log_lines())
    finally:
        procs.stop()


@pytest.mark.slow
def test_a_simulated_meter_serves_metrics_with_units_on_localhost_and_says_simulated_everywhere(
    metering: tuple[Daemon, dict[str, Any]],
) -> None:
    daemon, meta = metering
    port = meta["metrics_port"]
    allocated = "gpubarter_oracle_job_allocated_gpu_milliseconds_total"
    wait_for("job 5's GPU-ms in the metrics", lambda: metric(port, allocated, job="5", backend="simulated"))
    body = scrape(port)  # from 127.0.0.1, units in the names, simulated said plainly
    assert 'gpubarter_oracle_simulated{backend="simulated"} 1.0' in body
    assert "gpubarter_oracle_gpu_energy_millijoules{" in body
    lines = daemon.log_lines()
    assert lines and all(d["simulated"] is True and d["backend"] == "simulated" for d in lines)


@pytest.mark.slow
def test_a_second_meter_on_the_same_database_is_refused_while_the_first_runs(
    metering: tuple[Daemon, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    daemon, _meta = metering
    argv = ["oracle", "run", "--db", str(daemon.db), "--backend", "simulated"]
    argv += ["--verifying-contract", CONTRACT, "--no-metrics", "--duration", "1"]
    assert cli_main(argv) == 1
    assert "another meter is running" in capsys.readouterr().err
    assert daemon.proc.poll() is None  # the first one meters on


@pytest.mark.slow
def test_sigkill_loses_no_signed_batch_or_report_and_a_restart_resumes_the_submitted_one(
    restart: Restart,
) -> None:
    at_kill, after = restart.at_kill, restart.after
    assert len(at_kill.batches) >= 3 and at_kill.batches[0][3:] == ("submitted", TX)
    # Every batch and report signed before the kill is still there, unchanged.
    assert after.batches[: len(at_kill.batches)] == at_kill.batches
    assert after.reports[: len(at_kill.reports)] == at_kill.reports
    started = [d for d in restart.log if d["event"] == "meter started"]
    assert len(started) == 2 and started[-1]["resumed_batches"]["submitted"] == 1


@pytest.mark.slow
def test_a_restart_counts_neither_the_downtime_nor_anything_twice(restart: Restart) -> None:
    """The restarted meter's first sample only sets its baseline, so what it adds is the time
    between its own samples: at most from its process's start to its last counted sample. Counting
    the downtime (``DOWNTIME_S`` at least) or anything already counted would go past that, however
    slowly the machine ran either daemon."""
    assert set(restart.at_kill.counters) == TWO_JOBS
    for key, before in restart.at_kill.counters.items():
        grown = [a - b for a, b in zip(restart.after.counters[key], before, strict=True)]
        assert all(g >= 0 for g in grown) and grown[3] >= 1, (key, grown)
        counted_for_s = restart.after.counted_at[key] - restart.restarted_at
        assert grown[0] <= counted_for_s * 1000, (key, grown[0], counted_for_s)


@pytest.mark.slow
def test_cumulative_reports_never_decrease_and_the_last_of_each_equals_its_counter(
    restart: Restart,
) -> None:
    last: dict[Key, tuple[int, ...]] = {}
    for _batch, job, gpu, *values in restart.after.reports:
        if (job, gpu) in last:
            assert all(v >= p for v, p in zip(values, last[(job, gpu)], strict=True))
        last[(job, gpu)] = tuple(values)
    assert last == restart.after.counters
    assert set(last) == TWO_JOBS  # each job counted on the GPU it is pinned to, and nowhere else


@pytest.mark.slow
def test_run_job_pins_gpus_and_status_says_simulated(
    procs: Processes, cli_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "meter.sqlite"
    node = dev_account(7)
    key_hex = node.key.hex().removeprefix("0x")
    env = {**cli_env, "GPUBARTER_PRIVATE_KEY": key_hex}
    daemon = procs.daemon(
        db, "--backend", "simulated", "--sim-gpus", "4", "--report-every", "0.4", env=env
    )
    assert daemon.started()["signer"] == node.address  # the node's key from the environment
    seen = tmp_path / "env.txt"
    # The job runs until the test ends its child: `sleep` stopped by SIGTERM, `true` exits 0.
    script = (
        f'echo "$CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES $GPUBARTER_JOB_ID" > {seen}; '
        "sleep 300 || true"
    )
    run_job_log = tmp_path / "run-job.log"
    with run_job_log.open("w") as err:
        run_job = subprocess.Popen(
            [sys.executable, "-m", "oracle", "run-job", "12", "--gpus", "2,3", "--db", str(db),
             "--", "sh", "-c", script],
            cwd=ROOT,
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        # The meter found the command's child and counted the job on both its GPUs.
        child = wait_for(
            "the job's child process recorded",
            lambda: query(db, "SELECT pid FROM job_processes WHERE job_id='12' AND source='child'"),
        )[0][0]
        wait_for("job 12 counted on two GPUs", lambda: len(query(db, "SELECT 1 FROM counters")) == 2)
        os.kill(child, signal.SIGTERM)
        assert run_job.wait(timeout=120) == 0, run_job_log.read_text()
    finally:
        if run_job.poll() is None:
            run_job.kill()
            run_job.wait()
    assert "(simulated GPU)" in run_job_log.read_text()
    assert seen.read_text().split() == ["2,3", "2,3", "12"]
    wait_for("a report for job 12", lambda: query(db, "SELECT 1 FROM reports WHERE job_id='12'"))
    daemon.terminate()

    assert key_hex not in daemon.log.read_text()
    assert {signer for (signer,) in query(db, "SELECT DISTINCT signer FROM batches")} == {
        node.address
    }
    jobs = {(j, g) for j, g in query(db, "SELECT job_id, gpu_uuid FROM counters")}
    assert jobs == {
        ("12", "GPU-simulated-0002-0000-0000-000000000000"),
        ("12", "GPU-simulated-0003-0000-0000-000000000000"),
    }
    assert query(db, "SELECT ended_at IS NOT NULL FROM jobs WHERE job_id='12'") == [(1,)]
    # run-job recorded the command's process tree: sh (launched) and its sleep (child).
    sources = [s for (s,) in query(db, "SELECT source FROM job_processes WHERE job_id='12'")]
    assert sorted(sources) == ["child", "launched"]

    capsys.readouterr()
    assert cli_main(["oracle", "status", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "SIMULATED" in text and "job 12" in text and "(simulated GPU)" in text
    assert cli_main(["oracle", "status", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["simulated"] is True and doc["running"] is False
    assert doc["queue"]["signed"] >= 1


#: Steps of the fake GPU in the pynvml test: each adds 200 J and one new utilisation sample per process.
NVML_STEPS = 6
STEP_MJ = 200_000


@pytest.mark.slow
def test_the_daemon_meters_through_real_pynvml_on_the_fake_library(
    procs: Processes, cli_env: dict[str, str], fake_nvml_dir, tmp_path: Path
) -> None:
    job_pid, foreign_pid = procs.sleeper(), procs.sleeper()
    config = tmp_path / "nvml.conf"

    def write(step: int) -> None:
        ts = 1_000_000 * (step + 1)
        fake_nvml.write_config(
            config,
            [
                fake_nvml.FakeGpu(
                    uuid="GPU-real-path",
                    energy_mj=1_000_000 + STEP_MJ * step,
                    util=(90, 10),
                    procs={job_pid: 1 << 30, foreign_pid: 1 << 30},
                    samples=[(job_pid, ts, 60), (foreign_pid, ts, 30)],
                )
            ],
        )

    write(0)
    db = tmp_path / "meter.sqlite"
    store = MeterStore(db)
    register_pid(store, 77, job_pid, gpus=[0])
    daemon = procs.daemon(
        db,
        "--backend",
        "nvml",
        "--report-every",
        "0.4",
        env=fake_nvml.env(fake_nvml_dir(), config, cli_env),
    )
    meta = daemon.started()
    assert meta["backend"] == "nvml" and meta["simulated"] is False
    assert meta["gpus"][0]["uuid"] == "GPU-real-path"
    energy = "gpubarter_oracle_gpu_energy_millijoules"
    # Each step is read before the next is written: the GPU's every increase is seen, once.
    for step in range(NVML_STEPS + 1):
        write(step)
        wait_for(
            f"the daemon to read step {step}",
            lambda step=step: metric(meta["metrics_port"], energy) == 1_000_000 + STEP_MJ * step,
        )
    wait_for("a report", lambda: query(db, "SELECT 1 FROM reports"))
    daemon.terminate()
    store.close()

    ((job, alloc, sm, energy_mj, samples),) = query(
        db, "SELECT job_id, allocated_ms, sm_active_ms, energy_mj, samples FROM counters"
    )
    assert job == "77" and alloc > 0 and samples >= NVML_STEPS
    assert 0 < sm <= alloc * 60 // 100
    # Energy is the GPU's increase apportioned by SM share (60 of 90), or by process count (1 of 2)
    # in a sample that read a step's energy after its utilisation samples: never all of it.
    assert NVML_STEPS * STEP_MJ // 2 <= energy_mj <= NVML_STEPS * (STEP_MJ * 60 // 90)
    assert all(d["simulated"] is False and d["backend"] == "nvml" for d in daemon.log_lines())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run-job", "abc", "--gpus", "0", "--", "true"], "not a job id"),
        (["run-job", str(2**256), "--gpus", "0", "--", "true"], "out of range"),
        (["run-job", "1", "--gpus", "0,0", "--", "true"], "distinct"),
        (["run-job", "1", "--gpus", "x", "--", "true"], "GPU indices"),
        (["run-job", "1", "--gpus", "0", "--", "/nonexistent/cmd"], "cannot start"),
        (["attach", "1", str(2**22 + 4321)], "does not exist"),
        (["run", "--backend", "cuda", "--verifying-contract", CONTRACT], "--backend must be"),
        (
            ["run", "--backend", "simulated", "--interval", "0", "--verifying-contract", CONTRACT],
            "--interval",
        ),
        (
            ["run", "--backend", "simulated", "--verifying-contract", "0x12"],
            "not a contract address",
        ),
        (
            [
                "run",
                "--backend",
                "simulated",
                "--sim-gpus",
                "0",
                "--verifying-contract",
                CONTRACT,
                "--no-metrics",
            ],
            "1 to 64 GPUs",
        ),
    ],
)
def test_bad_cli_input_is_refused_with_one_line_and_stores_nothing(
    argv: list[str], message: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("GPUBARTER_STATE_DIR", str(tmp_path / "state"))
    db = tmp_path / "meter.sqlite"
    MeterStore(db).close()
    before = {t: query(db, f"SELECT * FROM {t}") for t in ("jobs", "job_processes", "batches")}
    where = [] if argv[0] == "run" else ["--db", str(db)]
    assert cli_main(["oracle", argv[0], *where, *argv[1:]]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: ") and message in err and "Traceback" not in err
    assert {t: query(db, f"SELECT * FROM {t}") for t in before} == before


def test_status_without_a_database_says_how_to_start(tmp_path: Path, capsys) -> None:
    assert cli_main(["oracle", "status", "--db", str(tmp_path / "none.sqlite")]) == 1
    assert "gpubarter oracle run" in capsys.readouterr().err


def test_run_without_a_meteringoracle_deployment_says_what_to_do(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("GPUBARTER_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    assert (
        cli_main(
            [
                "oracle",
                "run",
                "--backend",
                "simulated",
                "--no-metrics",
                "--db",
                str(tmp_path / "m.sqlite"),
            ]
        )
        == 1
    )
    assert "deploy" in capsys.readouterr().err
