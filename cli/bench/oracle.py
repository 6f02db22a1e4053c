"""``gpubarter bench oracle``: the meter's own cost at 1 Hz with 8 simulated GPUs.

A real daemon subprocess (``gpubarter oracle run --backend simulated --sim-gpus 8``)
meters 8 jobs, one per simulated GPU, and signs a report batch every 10 s; psutil
reads its CPU time and resident memory over a window of ``GPUBARTER_BENCH_ORACLE_S``
seconds (default 40) after a warm-up. The baseline, measured over the same window in
the same run, is an idle Python process sleeping in a loop. Every row says
``simulated``: the GPU readings cost nothing here, so this is the meter's overhead
(attribution, SQLite with fsync, signing, metrics), not the driver's.

Gas: on a fresh anvil chain with the protocol deployed, ``MeteringOracle.submit`` of
batches of 1, 10, 100 and 500 steady-state reports (each a job whose counter was reported
before), once optimistic (challenge period 600 s: submission only, finalisation measured
apart) and once with period 0 (usage applied to Jobs in the same transaction, one Jobs call per
batch). The marginal gas per report at 100 must stay within 25,000 on both paths. The
baseline is a plain ERC-20 transfer measured on the same chain.
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

from cli.bench import Measurement
from gpubarter import paths
from gpubarter.settings import settings

GPUS = 8
CPU_BUDGET_PCT_PER_GPU = 1.0
RSS_BUDGET_MIB = 100.0
CONTRACT = "0x" + "11" * 20


def _window_s() -> float:
    return settings().bench.oracle_s


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


GAS_BUDGET_MARGINAL = 25_000
#: 1 CPT, the contract's default: it refuses a zero challenge bond. Nobody challenges in the bench.
CHALLENGE_BOND = 10**18
SIZES = (1, 10, 100, 500)
LATENCY_S = 12
LATENCY_BUDGET_S = 2.0


def _gas_rows() -> list[Measurement]:
    from devservers.anvil import LocalChain, increase_time
    from gpubarter.chain.accounts import dev_account
    from gpubarter.chain.network import connect
    from gpubarter.chain.tx import Sender
    from gpubarter.deploy_plan import WAD, DeployParams
    from gpubarter.deploy_web3 import deploy_all
    from gpubarter.protocol.credits import ComputeClient
    from oracle.reports import UsageReport, domain, sign_batch

    with LocalChain() as chain, tempfile.TemporaryDirectory(prefix="bench-oracle-gas-") as tmp:
        w3 = connect(chain.url)
        gov_s, prov_s, hold_s = (Sender(w3, dev_account(i)) for i in range(3))
        dep = deploy_all(gov_s, network="local", params=DeployParams(), directory=Path(tmp), save=False)
        gov, prov, hold = (ComputeClient(x, dep) for x in (gov_s, prov_s, hold_s))
        oracle = dep.contract(w3, "MeteringOracle")
        dom = domain(w3.eth.chain_id, oracle.address)
        gov_s.transact(gov.token.functions.transfer(prov_s.address, 10_000 * WAD))
        plain = gov_s.transact(gov.token.functions.transfer(hold_s.address, WAD)).gas_used
        prov.register("bafkreiprovidermetadata")
        prov.stake(10_000 * WAD)
        now = int(w3.eth.get_block("latest")["timestamp"])
        series = prov.create_series(1, now, now + 30 * 86_400).value
        n = max(SIZES)
        prov.mint(series, 100 * (n + 1), hold_s.address)
        jobs = []
        for _ in range(n):
            jobs.append(hold.open_job(series, 100, "bafkreibenchjobspec").value)
            prov.acknowledge(jobs[-1])
        ms = dict.fromkeys(jobs, 0)

        def submit(count: int) -> int:
            end = int(w3.eth.get_block("latest")["timestamp"])
            reports = []
            for job in jobs[:count]:
                ms[job] += 2_000
                reports.append(UsageReport(job, "GPU-simulated-bench", "bench GPU (simulated)", ms[job],
                                           ms[job] // 2, ms[job], ms[job] // 1000, end))
            sig = sign_batch(gov_s.account, dom, reports)
            return gov_s.transact(oracle.functions.submit([r.as_tuple() for r in reports], [sig])).gas_used

        rows: list[Measurement] = []
        for period, label in ((600, "optimistic, period 600 s"), (0, "period 0: applied to Jobs")):
            gov_s.transact(oracle.functions.setChallengeParams(period, CHALLENGE_BOND, 0, 0))
            submit(n)  # every counter (and, with period 0, every job's used seconds) non-zero first
            sizes = SIZES
            gas = {size: submit(size) for size in sizes}
            for size in sizes:
                rows.append(Measurement(f"submit batch of {size} ({label}), per report", gas[size] / size,
                                        "gas", "plain ERC-20 transfer", plain))
            marginal = (gas[100] - gas[1]) / 99
            rows.append(Measurement(f"marginal gas per report at 100 ({label})", marginal, "gas",
                                    "plain ERC-20 transfer", plain, budget=f"<= {GAS_BUDGET_MARGINAL:,}",
                                    ok=marginal <= GAS_BUDGET_MARGINAL))
        # Finalising an optimistic batch of 100 after its period: Jobs' applyUsage per entry.
        gov_s.transact(oracle.functions.setChallengeParams(600, CHALLENGE_BOND, 0, 0))
        sent = []
        for count in (1, 100):
            submit(count)
            logs = oracle.events.UsageAccepted().get_logs(from_block=w3.eth.block_number)
            sent.append((oracle.functions.batchCount().call(),
                         [(x["args"]["jobId"], x["args"]["gpuSeconds"]) for x in logs]))
        increase_time(w3, 600)
        fin = [gov_s.transact(oracle.functions.finalize(b, e)).gas_used for b, e in sent]
        rows.append(Measurement("finalise after the period: marginal gas per report at 100",
                                (fin[1] - fin[0]) / 99, "gas", "plain ERC-20 transfer", plain))
        gov_s.transact(oracle.functions.setChallengeParams(0, CHALLENGE_BOND, 0, 0))
        job = hold.open_job(series, 100, "bafkreibenchjobspec").value
        prov.acknowledge(job)
        rows.append(_latency_row(chain.url, dep, job, Path(tmp)))
    return rows


def _latency_row(url: str, dep: object, job: int, tmp: Path) -> Measurement:
    """Sample to on-chain finality (challenge period 0) with the real daemon at 1 Hz: per batch,
    the time from its oldest sample (one interval before signing) to its confirmation."""
    from gpubarter.deployment_record import save_deployment
    from oracle.jobs import register_pid
    from oracle.meter_store import MeterStore

    save_deployment(dep, tmp / "deployments")  # type: ignore[arg-type]
    env = {**os.environ, "GPUBARTER_STATE_DIR": str(tmp), "GPUBARTER_LOCAL_RPC_URL": url,
           "GPUBARTER_DEPLOYMENTS_DIR": str(tmp / "deployments")}
    db, log = tmp / "latency.sqlite", tmp / "latency.log"
    work = subprocess.Popen(["sleep", "3600"])
    try:
        store = MeterStore(db)
        register_pid(store, job, work.pid, gpus=[0])
        store.close()
        with log.open("w") as err:
            subprocess.run([sys.executable, "-m", "oracle", "run", "--db", str(db), "--backend", "simulated",
                            "--interval", "1", "--report-every", "1", "--no-metrics", "--submit",
                            "--duration", str(LATENCY_S)], cwd=paths.project_root(), env=env,
                           stdout=subprocess.DEVNULL, stderr=err, check=True, timeout=LATENCY_S + 60)
    finally:
        work.kill()
        work.wait()
    signed: dict[int, float] = {}
    latencies = []
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        doc = json.loads(line)
        if doc["event"] == "batch signed":
            signed[doc["batch"]] = doc["ts"]
        elif doc["event"] == "batch confirmed" and doc["batch"] in signed:
            latencies.append(doc["ts"] - signed[doc["batch"]] + 1.0)
    if len(latencies) < LATENCY_S // 2:
        raise RuntimeError(f"only {len(latencies)} batches confirmed in {LATENCY_S} s: see {log}")
    worst = max(latencies)
    return Measurement(f"sample to on-chain finality, worst of {len(latencies)} batches (anvil, 1 Hz, "
                       "period 0, simulated GPU)", worst, "s", "sampling period", 1.0,
                       budget=f"<= {LATENCY_BUDGET_S} s", ok=worst <= LATENCY_BUDGET_S)


def run() -> list[Measurement]:
    return [*_gas_rows(), *_meter_rows()]


def _meter_rows() -> list[Measurement]:
    from oracle.jobs import register_pid
    from oracle.meter_store import MeterStore

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
