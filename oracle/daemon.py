"""``gpubarter oracle run``: the metering daemon's loop.

The loop is timed with ``time.monotonic()``: sample every ``interval_s`` (1 Hz by
default) without drifting, sign a report batch every ``report_every_s``, and stop
cleanly on SIGTERM/SIGINT with a last sample and report. One daemon per database
(an exclusive lock file, released by the kernel even after SIGKILL).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from gpubarter import paths
from oracle.errors import OracleError
from oracle.gpu import GpuBackend
from oracle.meter import Meter, Signer
from oracle.meter_store import MeterStore
from oracle.metrics import MeterMetrics
from oracle.submit import Submitter


def default_db() -> Path:
    return paths.state_dir() / "oracle" / "meter.sqlite"


@dataclass
class DaemonConfig:
    db: Path
    interval_s: float = 1.0
    report_every_s: float = 10.0
    metrics_port: int | None = 9464
    metrics_host: str = "127.0.0.1"
    duration_s: float | None = None  # stop after this long (bench, tests); None = forever
    sim_sm_pct: int = 80

    def __post_init__(self) -> None:
        if not 0.05 <= self.interval_s <= 60:
            raise OracleError(f"--interval must be 0.05..60 s, not {self.interval_s}")
        if self.report_every_s < self.interval_s:
            raise OracleError(
                f"--report-every ({self.report_every_s} s) must be at least "
                f"the sampling interval ({self.interval_s} s)"
            )
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise OracleError(f"--metrics-port must be 0..65535, not {self.metrics_port}")


class DaemonLock:
    def __init__(self, db: Path) -> None:
        self.path = db.with_name(db.name + ".lock")

    def __enter__(self) -> DaemonLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise OracleError(
                f"another meter is running on {self.path.with_suffix('')}; "
                "stop it first or use another --db"
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, str(os.getpid()).encode())
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def run_daemon(
    config: DaemonConfig, backend: GpuBackend, signer: Signer | None, log: logging.Logger,
    submit: Callable[[MeterStore], Submitter] | None = None,
) -> int:
    """Meter until stopped; with ``submit``, send each signed batch on-chain right after signing."""
    stop = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    with DaemonLock(config.db):
        store = MeterStore(config.db)
        metrics = MeterMetrics(backend.kind)
        port = None
        if config.metrics_port is not None:
            port = metrics.serve(config.metrics_port, config.metrics_host)
        meter = Meter(
            backend, store, signer, sim_sm_pct=config.sim_sm_pct, metrics=metrics, log=log
        )
        submitter = submit(store) if submit else None
        if submitter:
            submitter.recover()
        old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        gpus = backend.gpus()
        store.set_meta(
            "daemon",
            json.dumps(
                {
                    "pid": os.getpid(),
                    "backend": backend.kind,
                    "simulated": backend.simulated,
                    "started_at": time.time(),
                    "gpus": [g.__dict__ for g in gpus],
                    "notes": getattr(backend, "notes", {}),
                    "driver": backend.driver(),
                    "signer": signer.account.address if signer else None,
                    "chain_id": signer.chain_id if signer else None,
                    "verifying_contract": signer.verifying_contract if signer else None,
                    "interval_s": config.interval_s,
                    "metrics_port": port,
                }
            ),
        )
        log.info(
            "meter started",
            extra={
                "gpus": len(gpus),
                "models": sorted({g.name for g in gpus}),
                "db": str(config.db),
                "interval_s": config.interval_s,
                "signer": signer.account.address if signer else None,
                "metrics": f"http://{config.metrics_host}:{port}/metrics" if port else None,
                "resumed_batches": store.queue_counts(),
            },
        )
        started = time.monotonic()
        next_sample = started
        next_report = started + config.report_every_s
        try:
            while not stop:
                t0 = time.monotonic()
                try:
                    meter.sample()
                except sqlite3.OperationalError as exc:  # e.g. locked past the busy timeout
                    # The interval is dropped, never counted later: under-count, not double.
                    log.error("sample not stored", extra={"why": str(exc)})
                metrics.tick.labels(backend.kind).observe(time.monotonic() - t0)
                metrics.samples.labels(backend.kind).inc()
                now = time.monotonic()
                if now >= next_report:
                    meter.report()
                    store.set_meta(
                        "heartbeat", json.dumps({"at": time.time(), "samples": meter.samples_taken})
                    )
                    next_report += config.report_every_s
                if submitter:
                    submitter.pump()
                if config.duration_s is not None and now - started >= config.duration_s:
                    break
                next_sample += config.interval_s
                if next_sample < now:  # fell behind (suspended, overloaded): do not burst
                    log.warning(
                        "sampling fell behind", extra={"late_s": round(now - next_sample, 3)}
                    )
                    next_sample = now + config.interval_s
                while not stop and (delay := next_sample - time.monotonic()) > 0:
                    time.sleep(min(delay, 1.0))  # a signal ends the wait within 1 s
            meter.report()
            if submitter:
                submitter.pump()
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
            log.info(
                "meter stopped",
                extra={"samples": meter.samples_taken, "queue": store.queue_counts()},
            )
            store.close()
            backend.close()
    return 0
