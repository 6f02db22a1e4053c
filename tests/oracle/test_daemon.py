"""The daemon as users run it: subprocesses, SIGKILL and restart, metrics, CLI errors."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_for

from cli import main as cli_main
from gpubarter.chain.accounts import dev_account
from oracle.jobs import register_pid
from oracle.store import MeterStore
from oracle.testing import fake_nvml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "0x" + "11" * 20
#: Two simulated GPUs at 50 % SM activity, reports every 0.4 s (the crash test's daemons).
SIM_TWO_GPUS = ("--backend", "simulated", "--sim-gpus", "2", "--sim-sm-util", "50", "--report-every", "0.4")


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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log_lines(self) -> list[dict[str, Any]]:
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]


@pytest.fixture
def daemons(cli_env: dict[str, str]) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(db: Path, *args: str, env: dict[str, str] | None = None) -> Daemon:
        d = Daemon(db, db.with_suffix(".log"), env or cli_env, *args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def sleeper() -> Iterator[Callable[[], int]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> int:
        procs.append(subprocess.Popen(["sleep", "300"]))
        return procs[-1].pid

    yield start
    for p in procs:
        p.kill()
        p.wait()


def counters(db: Path) -> dict[tuple[str, str], tuple[int, int, int, int]]:
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


@pytest.mark.slow
def test_sigkill_and_restart_lose_nothing_and_count_nothing_twice(
    daemons, sleeper, tmp_path: Path
) -> None:
    db = tmp_path / "meter.sqlite"
    first = daemons(
        db,
        *SIM_TWO_GPUS,
    )
    meta = first.started()
    assert meta["simulated"] is True and meta["backend"] == "simulated"

    store = MeterStore(db)
    register_pid(store, 5, sleeper(), gpus=[1])
    register_pid(store, 6, sleeper(), gpus=[0])
    wait_for("three signed batches", lambda: len(batches(db)) >= 3)

    # Prometheus on 127.0.0.1, units in the names, simulated said plainly.
    body = (
        urllib.request.urlopen(f"http://127.0.0.1:{meta['metrics_port']}/metrics").read().decode()
    )
    assert 'gpubarter_oracle_simulated{backend="simulated"} 1.0' in body
    assert "gpubarter_oracle_job_allocated_gpu_milliseconds_total" in body
    assert "gpubarter_oracle_gpu_energy_millijoules" in body

    # A second meter on the same database is refused while the first runs.
    assert (
        cli_main(
            [
                "oracle",
                "run",
                "--db",
                str(db),
                "--backend",
                "simulated",
                "--verifying-contract",
                CONTRACT,
                "--no-metrics",
                "--duration",
                "1",
            ]
        )
        == 1
    )

    # The submitter (next session) took batch 1: its state must survive the crash.
    first_id = batches(db)[0][0]
    store.mark_submitted(first_id, "0x" + "ab" * 32)
    store.close()

    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    killed_at = time.monotonic()
    batches_before, reports_before, counted_before = batches(db), reports(db), counters(db)
    assert batches_before[0][3:] == ("submitted", "0x" + "ab" * 32)
    time.sleep(1.0)  # downtime: must not be counted

    second = daemons(
        db,
        *SIM_TWO_GPUS,
        "--duration",
        "2",
    )
    second.started()
    restarted_at = time.monotonic()
    assert second.proc.wait(timeout=120) == 0
    stopped_at = time.monotonic()

    # Nothing lost: every batch and report signed before the kill is still there, unchanged.
    assert batches(db)[: len(batches_before)] == batches_before
    assert reports(db)[: len(reports_before)] == reports_before
    after = counters(db)
    for key, before in counted_before.items():
        grown = [a - b for a, b in zip(after[key], before, strict=True)]
        assert all(g >= 0 for g in grown)
        # Nothing counted twice, and the downtime not at all: the growth fits in the second run.
        assert grown[0] <= (stopped_at - killed_at) * 1000 - 1000 + 400
        assert grown[0] <= (stopped_at - restarted_at) * 1000 + 3000
    # Cumulative reports never decrease, and the last one of each counter equals it.
    last: dict[tuple[str, str], tuple[int, ...]] = {}
    for _batch, job, gpu, *values in reports(db):
        if (job, gpu) in last:
            assert all(v >= p for v, p in zip(values, last[(job, gpu)], strict=True))
        last[(job, gpu)] = tuple(values)
    assert {k: v for k, v in last.items()} == after
    assert set(after) == {
        ("5", "GPU-simulated-0001-0000-0000-000000000000"),
        ("6", "GPU-simulated-0000-0000-0000-000000000000"),
    }

    lines = first.log_lines()
    assert lines and all(d["simulated"] is True for d in lines)
    started = [d for d in second.log_lines() if d["event"] == "meter started"][-1]
    assert started["resumed_batches"]["submitted"] == 1


@pytest.mark.slow
def test_run_job_pins_gpus_and_status_says_simulated(
    daemons, cli_env, tmp_path: Path, capsys
) -> None:
    db = tmp_path / "meter.sqlite"
    node = dev_account(7)
    key_hex = node.key.hex().removeprefix("0x")
    env = {**cli_env, "GPUBARTER_PRIVATE_KEY": key_hex}
    daemon = daemons(
        db, "--backend", "simulated", "--sim-gpus", "4", "--report-every", "0.4", env=env
    )
    assert daemon.started()["signer"] == node.address  # the node's key from the environment
    seen = tmp_path / "env.txt"
    script = (
        f'echo "$CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES $GPUBARTER_JOB_ID" > {seen}; sleep 2'
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "oracle",
            "run-job",
            "12",
            "--gpus",
            "2,3",
            "--db",
            str(db),
            "--",
            "sh",
            "-c",
            script,
        ],
        cwd=ROOT,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "(simulated GPU)" in done.stderr
    assert seen.read_text().split() == ["2,3", "2,3", "12"]
    wait_for("a report for job 12", lambda: query(db, "SELECT 1 FROM reports WHERE job_id='12'"))
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=60) == 0

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


@pytest.mark.slow
def test_the_daemon_meters_through_real_pynvml_on_the_fake_library(
    daemons, sleeper, cli_env, fake_nvml_dir, tmp_path: Path
) -> None:
    job_pid, foreign_pid = sleeper(), sleeper()
    config = tmp_path / "nvml.conf"

    def write(step: int) -> None:
        ts = 1_000_000 * (step + 1)
        fake_nvml.write_config(
            config,
            [
                fake_nvml.FakeGpu(
                    uuid="GPU-real-path",
                    energy_mj=1_000_000 + 200_000 * step,
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
    daemon = daemons(
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
    for step in range(1, 12):
        write(step)
        time.sleep(0.25)
    wait_for("a report", lambda: query(db, "SELECT 1 FROM reports"))
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=60) == 0
    store.close()

    ((job, alloc, sm, energy, samples),) = query(
        db, "SELECT job_id, allocated_ms, sm_active_ms, energy_mj, samples FROM counters"
    )
    assert job == "77" and alloc > 0 and samples > 0
    assert 0 < sm <= alloc * 60 // 100
    # Energy is the GPU's increase apportioned by SM share (60 of 90): never all of it.
    assert 0 < energy <= 11 * 200_000 * 60 // 90
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
