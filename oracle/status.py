"""What ``gpubarter oracle status`` shows, as plain data."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from oracle.errors import StoreError
from oracle.meter_store import MeterStore


def collect(db: Path) -> dict[str, Any]:
    if not db.is_file():
        raise StoreError(f"no meter database at {db}: start the meter with `gpubarter oracle run`")
    store = MeterStore(db)
    try:
        daemon = json.loads(store.meta("daemon") or "null")
        heartbeat = json.loads(store.meta("heartbeat") or "null")
        running = bool(daemon) and _running(db, int(daemon["pid"]))
        return {
            "db": str(db),
            "daemon": daemon,
            "heartbeat": heartbeat,
            "running": running,
            "simulated": bool(daemon and daemon.get("simulated")),
            "jobs": [
                {
                    "job_id": str(j.job_id),
                    "gpus": list(j.gpus),
                    "ended": j.ended,
                    "processes": len(j.processes),
                }
                for j in store.jobs(active_only=False)
            ],
            "counters": [{**asdict(c), "job_id": str(c.job_id)} for c in store.counters()],
            "queue": store.queue_counts(),
            "finalizations": store.finalization_counts(),
            "challenges": store.challenge_counts(),
        }
    finally:
        store.close()


def _running(db: Path, pid: int) -> bool:
    """The daemon holds the lock file it wrote its pid into."""
    lock = db.with_name(db.name + ".lock")
    try:
        return lock.read_text().strip() == str(pid) and psutil.pid_exists(pid)
    except OSError:
        return False
