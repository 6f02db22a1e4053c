"""``gpubarter bench oracle``: the meter's own cost at 1 Hz with 8 simulated GPUs.

A real daemon subprocess (``gpubarter oracle run --backend simulated --sim-gpus 8``)
meters 8 jobs, one per simulated GPU, and signs a report batch every 10 s; psutil
reads its CPU time and resident memory over a window of ``GPUBARTER_BENCH_ORACLE_S``
seconds (default 40) after a warm-up. The baseline, measured over the same window in
the same run, is an idle Python process sleeping in a loop. Every row says
``simulated``: the GPU readings cost nothing here, so this is the meter's overhead
(attribution, SQLite with fsync, signing, metrics), not the driver's.

Gas budgets (reports per batch on-chain) come with the MeteringOracle contract.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from gpubarter import paths
from gpubarter.bench import Measurement

GPUS = 8
CPU_BUDGET_PCT_PER_GPU = 1.0
RSS_BUDGET_MIB = 100.0
CONTRACT = "0x" + "11" * 20


def _window_s() -> float:
    return float(os.environ.get("GPUBARTER_BENCH_ORACLE_S", "40"))


def _meta(db: Path) -> dict[str, object] | None:
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            row = con.execute("SELECT value FROM meta WHERE key='daemon'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


def _cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _sample_mean_ms(port: int) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in body.splitlines():
        if line.startswith("gpubarter_oracle_sample_duration_seconds_"):
            name, value = line.rsplit(" ", 1)
            values[name.split("{")[0].rsplit("_", 1)[-1]] = float(value)
    return 1000 * values["sum"] / values["count"] if values.get("count") else float("nan")


def run() -> list[Measurement]:
    from oracle.jobs import register_pid
    from oracle.store import MeterStore

    window = _window_s()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-oracle-") as tmp:
        db = Path(tmp) / "meter.sqlite"
        env = {**os.environ, "GPUBARTER_STATE_DIR": tmp}
        try:
            store = MeterStore(db)
            for gpu in range(GPUS):
                procs.append(subprocess.Popen(["sleep", "3600"]))
                register_pid(store, 1000 + gpu, procs[-1].pid, gpus=[gpu])
            store.close()
            daemon = subprocess.Popen(
                [sys.executable, "-m", "oracle", "run", "--backend", "simulated", "--sim-gpus",
                 str(GPUS), "--interval", "1", "--report-every", "10", "--metrics-port", "0",
                 "--verifying-contract", CONTRACT, "--db", str(db)],
                cwd=paths.project_root(), env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            procs.append(daemon)
            idle = subprocess.Popen([sys.executable, "-c",
                                     "import time\nwhile True:\n    time.sleep(1)"])
            procs.append(idle)
            deadline = time.monotonic() + 120
            while (meta := _meta(db)) is None or meta.get("pid") != daemon.pid:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the oracle daemon did not start")
                time.sleep(0.2)
            time.sleep(5)  # warm-up: first samples, first batch, page cache
            pd, pi = psutil.Process(daemon.pid), psutil.Process(idle.pid)
            cpu0, idle0, t0 = _cpu_s(pd), _cpu_s(pi), time.monotonic()
            rss_max = idle_rss_max = 0
            while time.monotonic() - t0 < window:
                time.sleep(1)
                rss_max = max(rss_max, pd.memory_info().rss)
                idle_rss_max = max(idle_rss_max, pi.memory_info().rss)
            elapsed = time.monotonic() - t0
            cpu_pct = 100 * (_cpu_s(pd) - cpu0) / elapsed
            idle_pct = 100 * (_cpu_s(pi) - idle0) / elapsed
            sample_ms = _sample_mean_ms(int(meta["metrics_port"]))  # type: ignore[arg-type]
            con = sqlite3.connect(db)
            jobs_metered, batches = con.execute(
                "SELECT (SELECT COUNT(*) FROM counters WHERE samples > 0), "
                "(SELECT COUNT(*) FROM batches)").fetchone()
            con.close()
        finally:
            for p in procs:
                p.kill()
                p.wait()
    if jobs_metered != GPUS or batches == 0:
        raise RuntimeError(f"the daemon metered {jobs_metered} of {GPUS} jobs and signed "
                           f"{batches} batches: the bench did not measure a working meter")
    per_gpu = cpu_pct / GPUS
    mib = 1024 * 1024
    return [
        Measurement(f"meter CPU per GPU ({GPUS} simulated GPUs, 1 Hz, {window:.0f} s)", per_gpu,
                    "% of a core", "idle Python sleep loop (whole process)", idle_pct,
                    budget=f"<= {CPU_BUDGET_PCT_PER_GPU} % per GPU",
                    ok=per_gpu <= CPU_BUDGET_PCT_PER_GPU),
        Measurement(f"meter CPU, whole daemon ({GPUS} simulated GPUs)", cpu_pct, "% of a core",
                    "idle Python sleep loop", idle_pct),
        Measurement(f"meter resident memory, peak ({GPUS} simulated GPUs)", rss_max / mib, "MiB",
                    "idle Python process", idle_rss_max / mib,
                    budget=f"<= {RSS_BUDGET_MIB:.0f} MiB", ok=rss_max / mib <= RSS_BUDGET_MIB),
        Measurement(f"one sample of all {GPUS} simulated GPUs (attribute + SQLite fsync)",
                    sample_ms, "ms", "sampling period", 1000.0),
    ]
