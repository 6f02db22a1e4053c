"""``gpubarter bench api``: latency and throughput of the resource API's list endpoints.

An index database (SQLite first) is seeded in bulk with 10,000 credit series, 100,000 usage rows,
10,000 jobs and 100 providers; the API (uvicorn, one worker, 127.0.0.1) serves it from its own
process; an open-loop load generator (``cli.bench._load``: asyncio, minimal HTTP/1.1 with
keep-alive) drives it from a third process on loopback.

1. A mix of list endpoints (filters, a deep keyset page) at 200 requests/s for 10 s: p50/p99 per
   endpoint. Budget: p99 ≤ 50 ms. Baseline: ``/api/v1/health`` alone at 200 requests/s.
2. The largest sustained rate: the rate steps up (3 s per step) until p99 exceeds 50 ms, a request
   fails, or the generator cannot send at the rate; the last passing rate counts. Baseline:
   the same search on ``/api/v1/health``.
3. The server's CPU time per request (load-independent where neighbours share the CPU).

Then step 1 and 3 again on a throwaway PostgreSQL server on loopback, seeded alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.bench import Measurement
from gpubarter.errors import GpuBarterError
from gpubarter.process import child_setup, free_port

SERIES = 10_000
USAGE = 100_000
JOBS = 10_000
PROVIDERS = 100
HOLDERS = 500
RATE = 200
SECONDS = 10
STEP_SECONDS = 3
STEPS = (50, 100, 150, 200, 300, 400, 500, 650, 800, 1_000, 1_250, 1_500, 2_000, 2_500, 3_000)
P99_BUDGET_MS = 50.0
HEALTH = "/api/v1/health"


def _address(i: int, kind: int) -> str:
    from gpubarter.chain.addresses import checksum

    return checksum(f"0x{kind:02x}{i:038x}")


def seed(url: str, *, series: int = SERIES, usage: int = USAGE, jobs: int = JOBS) -> None:
    """Bulk-insert the resource rows (one transaction per table, 10,000 rows per statement)."""
    from sqlalchemy import insert

    from backend.db import make_engine, migrate
    from backend.db.resources import GpuClassRow, JobRow, ProviderRow, SeriesRow, UsageRow

    now = int(time.time())
    providers = [_address(i, 1) for i in range(PROVIDERS)]
    holders = [_address(i, 2) for i in range(HOLDERS)]
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (GpuClassRow, [{"class_id": c, "name": f"class-{c}", "collateral_rate": "1111111111111111",
                        "ack_timeout": 3600, "penalty_bps": 2000, "active": True} for c in (1, 2, 3)]),
        (ProviderRow, [{"address": a, "metadata_cid": "bafkreiprovider", "stake": str(10_000 * 10**18),
                        "locked": str(40 * 10**18), "unbonding": "0", "unbonding_end": 0, "slashed": "0",
                        "registered_block": 1} for a in providers]),
        (SeriesRow, [{"series_id": i + 1, "provider": providers[i % PROVIDERS], "class_id": 1 + i % 3,
                      "window_start": now - 86_400,
                      "window_end": now + (-3_600 if i % 10 == 0 else 30 * 86_400),
                      "backing": "stake", "deal_id": None, "collateral_rate": "1111111111111111",
                      "minted": "36000", "burned": "600", "delivered": "600", "frozen": False,
                      "created_block": 10 + i} for i in range(series)]),
        (JobRow, [{"job_id": i + 1, "series_id": 1 + i % series, "holder": holders[i % HOLDERS],
                   "provider": providers[i % PROVIDERS], "max_seconds": "3600", "used_seconds": "600",
                   "spec_cid": "bafkreispec", "ack_deadline": now, "deadline": now + 86_400,
                   "status": "acknowledged", "returned": None, "penalty": None, "opened_block": 20_000 + i}
                  for i in range(jobs)]),
        (UsageRow, [{"job_id": 1 + i // 10, "series_id": 1 + (i // 10) % series, "gpu_id": f"0x{i % 16:064x}",
                     "batch_id": 1 + i // 100, "entry_index": i % 100, "allocated_gpu_ms": "60000",
                     "gpu_seconds": "60", "applied_seconds": "60", "status": "applied",
                     "block_number": 40_000 + i // 100, "tx_hash": f"0x{i // 100:064x}"}
                    for i in range(usage)]),
    ]
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        for model, rows in tables:
            for at in range(0, len(rows), 10_000):
                conn.execute(insert(model), rows[at:at + 10_000])
    with engine.begin() as conn:  # planner statistics, as autovacuum (PostgreSQL) keeps them in a live index
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def list_paths() -> dict[str, str]:
    """Label -> path of each list endpoint the load drives."""
    from backend.api.pagination import encode_cursor

    return {
        "providers": "/api/v1/providers?limit=50",
        "series": "/api/v1/series?limit=50",
        "series?class_id": "/api/v1/series?class_id=2&limit=50",
        "series?provider&active": f"/api/v1/series?provider={_address(7, 1)}&active=true&limit=50",
        "jobs?holder": f"/api/v1/jobs?holder={_address(42, 2).lower()}&limit=50",
        "usage?job": "/api/v1/usage?job=4321&limit=50",
        "usage, page after 90,000 rows": f"/api/v1/usage?limit=50&cursor={encode_cursor(90_000)}",
    }


@dataclass(frozen=True)
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the server used so far (user + system): its process and the processes it runs
        (extra API workers)."""
        import psutil

        server = psutil.Process(self.pid)
        times = [p.cpu_times() for p in (server, *server.children(recursive=True))]
        return sum(t.user + t.system for t in times)


def api_server(url: str) -> contextlib.AbstractContextManager[Server]:
    """The API over ``url`` in a child process on a free loopback port."""
    return server_process("cli.bench._api_server", url)


#: Seconds a server process may take to answer its health endpoint (imports are slow on a busy host).
SERVER_START_S = 120


@contextlib.contextmanager
def server_process(module: str, *args: str) -> Iterator[Server]:
    """``python -m module *args PORT`` in a child process serving on a free loopback port, once its
    health endpoint answers; terminated on exit."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", module, *args, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=child_setup())
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}{HEALTH}", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()  # its stderr ends only when it does
                err = proc.communicate()[1].decode(errors="replace")[-2000:]
                raise GpuBarterError(f"the API server did not start within {SERVER_START_S} s "
                                     f"(exit status {proc.returncode}): {err}")
            time.sleep(0.1)
        yield Server(port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(port: int, rate: float, seconds: float, paths: list[str]) -> dict[str, Any]:
    """One open-loop run of the load generator (its own process)."""
    out = subprocess.run([sys.executable, "-m", "cli.bench._load", str(port), str(rate), str(seconds),
                          *paths], capture_output=True, text=True, check=True, timeout=seconds + 60)
    return json.loads(out.stdout)


def passes(result: dict[str, Any], rate: float) -> bool:
    stats = result["paths"].values()
    return (result["achieved_rps"] >= 0.95 * rate and all(s["errors"] == 0 for s in stats)
            and all(s["p99_ms"] is not None and s["p99_ms"] <= P99_BUDGET_MS for s in stats))


def max_sustained(port: int, paths: list[str]) -> float:
    """The largest rate of :data:`STEPS` that passes (0 when even the first does not)."""
    best = 0.0
    for rate in STEPS:
        if not passes(load(port, rate, STEP_SECONDS, paths), rate):
            break
        best = rate
    return best


def check_answers(port: int, paths: dict[str, str]) -> None:
    """Every driven endpoint answers 200 with a full page: the load measures real work, not errors."""
    for label, path in paths.items():
        r = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)
        if r.status_code != 200 or not r.json()["items"]:
            raise GpuBarterError(f"bench api: {label} answered {r.status_code} {r.text[:200]}")


def cpu_per_request(server: Server, rate: float, seconds: float,
                    paths: list[str]) -> tuple[dict[str, Any], float]:
    """A load run and the server's CPU milliseconds per answered request during it."""
    before = server.cpu_seconds()
    result = load(server.port, rate, seconds, paths)
    answered = sum(s["n"] for s in result["paths"].values())
    return result, 1000 * (server.cpu_seconds() - before) / max(answered, 1)


def bench_database(url: str, database: str, *, search: bool) -> list[Measurement]:
    """Seed ``url``, serve it, drive it: per-endpoint latency at :data:`RATE` and, with ``search``,
    the largest sustained rate."""
    paths = list_paths()
    seed(url)
    with api_server(url) as server:
        check_answers(server.port, paths)
        load(server.port, 100, 1, list(paths.values()))  # warm-up: connections, caches
        health_run, health_cpu = cpu_per_request(server, RATE, SECONDS / 2, [HEALTH])
        mixed, lists_cpu = cpu_per_request(server, RATE, SECONDS, list(paths.values()))
        if search:
            health_max = max_sustained(server.port, [HEALTH])
            lists_max = max_sustained(server.port, list(paths.values()))

    health = health_run["paths"][HEALTH]
    where = f"{database}, {SERIES:,} series / {USAGE:,} usage rows"
    base = f"{HEALTH} p99 at {RATE} req/s"
    out: list[Measurement] = []
    for label, path in paths.items():
        s = mixed["paths"][path]
        p99 = s["p99_ms"] if s["p99_ms"] is not None else float("inf")
        out.append(Measurement(f"GET {label} p50 at {RATE} req/s (mixed, {where})", s["p50_ms"] or 0.0, "ms",
                               f"{HEALTH} p50", health["p50_ms"]))
        out.append(Measurement(f"GET {label} p99 at {RATE} req/s (mixed, {where})", p99, "ms", base,
                               health["p99_ms"], budget=f"p99 ≤ {P99_BUDGET_MS:.0f} ms, no errors",
                               ok=p99 <= P99_BUDGET_MS and s["errors"] == 0))
    out.append(Measurement(f"server CPU per list request (mixed, {database})", lists_cpu, "ms",
                           f"{HEALTH} server CPU per request", health_cpu))
    if search:
        out.append(Measurement(f"max sustained req/s, list endpoints mixed ({database}; p99 ≤ "
                               f"{P99_BUDGET_MS:.0f} ms, no errors)", lists_max, "req/s",
                               f"{HEALTH} max sustained req/s", health_max, budget=f"≥ {RATE} req/s",
                               ok=lists_max >= RATE))
    return out


def run() -> list[Measurement]:
    from devservers.postgres import PostgresServer, ensure_postgres

    ensure_postgres()

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        out = bench_database(f"sqlite:///{Path(tmp) / 'index.sqlite3'}", "SQLite", search=True)
    with PostgresServer() as pg:  # the rate search runs on SQLite only, to keep the suite near 2 minutes
        out += bench_database(pg.create_database("bench_api"), "PostgreSQL", search=False)
    # Context for reading the latencies: processes of others competing for the same CPUs.
    out.append(Measurement("host load average (1 min) at the end of the run", os.getloadavg()[0], "runnable",
                           "CPUs", float(os.cpu_count() or 1)))
    return out
