"""``gpubarter oracle cosign``: a co-signing oracle node for a threshold > 1.

A co-signer holds one key of the MeteringOracle's signer set and serves ``POST /v1/cosign`` on
127.0.0.1. It signs a batch only if it can vouch for it, and refuses (HTTP 422 with the reason)
otherwise. What it checks (:class:`Policy`):

- the EIP-712 domain: the chain id and MeteringOracle it was started for, nothing else;
- every report is well formed (ranges, SM-active <= allocated) and not dated in the future
  (beyond ``MAX_CLOCK_DRIFT_S`` of the co-signer's own clock);
- per job and GPU, against the last report it signed (persisted in its own SQLite database):
  no counter decreases and the period end does not go back (a replay of an older report is
  refused); the allocated GPU-ms grew by at most the wall time between the two period ends
  (plus ``TOLERANCE_S`` for the whole-second period ends), i.e. one GPU cannot be held for more
  milliseconds than have passed;
- the first report of a job and GPU: the job is running on-chain (``Acknowledged`` or ``Closing``)
  and its allocated GPU-ms is at most the chain time from the job's ``JobAcknowledged`` block to the
  latest block (chain time on both ends: the meter's clock may differ from the chain's).

A batch it signed before (same digest) is answered with the same signature: that vouches for
nothing new (a crash of the submitter between asking and persisting must not block the queue).
Reports equal to the ones it signed last are accepted in a new batch (a split batch repeats
them); they add nothing on-chain, where only increases count.

The key is never sent, logged or shown; answers carry only the address and the signature.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gpubarter.chain.logs import find_latest
from oracle import reports as rep
from oracle.errors import OracleError
from oracle.meter import Signer

MAX_CLOCK_DRIFT_S = 300
TOLERANCE_S = 2
MAX_BODY = 4 * 1024 * 1024
RUNNING = (2, 3)  # ComputeTypes.JobStatus Acknowledged, Closing

SCHEMA = """
CREATE TABLE IF NOT EXISTS signed_reports (
    job_id TEXT NOT NULL, gpu_uuid TEXT NOT NULL,
    allocated_ms INTEGER NOT NULL, sm_active_ms INTEGER NOT NULL, energy_mj INTEGER NOT NULL,
    samples INTEGER NOT NULL, period_end INTEGER NOT NULL,
    PRIMARY KEY (job_id, gpu_uuid)
);
CREATE TABLE IF NOT EXISTS signed_batches (digest TEXT PRIMARY KEY, signature TEXT NOT NULL,
                                           signed_at REAL NOT NULL);
"""


class Refused(OracleError):
    """The co-signer will not vouch for a batch; the message says why."""


@dataclass(frozen=True)
class Last:
    allocated_ms: int
    sm_active_ms: int
    energy_mj: int
    samples: int
    period_end: int


class Policy:
    """Decides and records what a co-signer signs; the state lives in SQLite (WAL, fsync)."""

    def __init__(self, db: Path, signer: Signer, running_for: Callable[[int], int | None],
                 wall: Callable[[], float] = time.time) -> None:
        self.signer, self.running_for, self.wall = signer, running_for, wall
        db.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def sign(self, doc: dict[str, Any]) -> bytes:
        """The signature over the batch ``doc`` describes, or raise :class:`Refused`."""
        with self.lock:
            reports = self._parse(doc)
            digest = rep.batch_digest(self.signer.domain, reports)
            row = self.db.execute("SELECT signature FROM signed_batches WHERE digest=?",
                                  ("0x" + digest.hex(),)).fetchone()
            if row is not None:
                return bytes.fromhex(row[0][2:])
            self._vouch(reports)
            signature = rep.sign_batch(self.signer.account, self.signer.domain, reports)
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for r in reports:
                    self.db.execute("INSERT OR REPLACE INTO signed_reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                                    (str(r.job_id), r.gpu_uuid, r.allocated_ms, r.sm_active_ms, r.energy_mj,
                                     r.samples, r.period_end))
                self.db.execute("INSERT INTO signed_batches VALUES (?, ?, ?)",
                                ("0x" + digest.hex(), "0x" + signature.hex(), self.wall()))
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            return signature

    def _parse(self, doc: dict[str, Any]) -> list[rep.UsageReport]:
        try:
            chain_id, contract = int(doc["chain_id"]), str(doc["verifying_contract"])
            raw = doc["reports"]
            if not isinstance(raw, list):
                raise Refused("reports must be a list")
            reports = [rep.UsageReport(**r) for r in raw]
        except Refused:
            raise
        except OracleError as exc:
            raise Refused(f"malformed report: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise Refused(f"malformed request: {exc!r}") from None
        if chain_id != self.signer.chain_id or contract.lower() != self.signer.verifying_contract.lower():
            raise Refused(f"this co-signer signs for chain {self.signer.chain_id} and MeteringOracle "
                          f"{self.signer.verifying_contract}, not chain {chain_id} and {contract}")
        if not 1 <= len(reports) <= rep.MAX_BATCH:
            raise Refused(f"a batch holds 1 to {rep.MAX_BATCH} reports, not {len(reports)}")
        return reports

    def _vouch(self, reports: list[rep.UsageReport]) -> None:
        now = self.wall()
        seen: dict[tuple[int, str], Last] = {}
        for i, r in enumerate(reports):
            if r.period_end > now + MAX_CLOCK_DRIFT_S:
                raise Refused(f"report {i} ends at {r.period_end}, in the future (now {int(now)})")
            key = (r.job_id, r.gpu_uuid)
            last = seen.get(key) or self._last(*key)
            if last is None:
                running = self.running_for(r.job_id)
                if running is None:
                    raise Refused(f"report {i}: job {r.job_id} is not running on-chain")
                allowed = (running + TOLERANCE_S) * 1000
                if r.allocated_ms > allowed:
                    raise Refused(f"report {i}: job {r.job_id} claims {r.allocated_ms} GPU-ms on one GPU, "
                                  f"more than the {allowed} ms since it was acknowledged")
            else:
                for name in ("allocated_ms", "sm_active_ms", "energy_mj", "samples", "period_end"):
                    if getattr(r, name) < getattr(last, name):
                        raise Refused(f"report {i}: {name} of job {r.job_id} on {r.gpu_uuid} went back "
                                      f"from {getattr(last, name)} to {getattr(r, name)} (a replay?)")
                grown, allowed = r.allocated_ms - last.allocated_ms, 0
                if grown:
                    allowed = (r.period_end - last.period_end + TOLERANCE_S) * 1000
                if grown > allowed:
                    raise Refused(f"report {i}: job {r.job_id} on {r.gpu_uuid} grew by {grown} GPU-ms in "
                                  f"{r.period_end - last.period_end} s of wall time")
            seen[key] = Last(r.allocated_ms, r.sm_active_ms, r.energy_mj, r.samples, r.period_end)

    def _last(self, job_id: int, gpu_uuid: str) -> Last | None:
        row = self.db.execute(
            "SELECT allocated_ms, sm_active_ms, energy_mj, samples, period_end FROM signed_reports "
            "WHERE job_id=? AND gpu_uuid=?", (str(job_id), gpu_uuid)).fetchone()
        return Last(*row) if row else None


def chain_running_for(w3: Any, jobs: Any, *, from_block: int, max_range: int) -> Callable[[int], int | None]:
    """Seconds of chain time since job ``id`` was acknowledged, if it is running now; else None.
    Its ``JobAcknowledged`` log is searched newest first, down to ``from_block`` (the Jobs contract's
    deployment block), ``max_range`` blocks per request."""

    def lookup(job_id: int) -> int | None:
        if job_id >= 2**256:
            return None
        job = jobs.functions.jobOf(job_id).call()
        if int(job[2]) not in RUNNING:
            return None
        log = find_latest(jobs.events.JobAcknowledged(), from_block=from_block, max_range=max_range,
                          argument_filters={"jobId": job_id})
        if log is None:
            return None
        acked = int(w3.eth.get_block(log["blockNumber"])["timestamp"])
        return int(w3.eth.get_block("latest")["timestamp"]) - acked

    return lookup


def serve(policy: Policy, port: int, log: logging.Logger, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start the co-signing endpoint (a daemon thread); ``port`` 0 picks a free one."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/cosign":
                return self._answer(404, {"error": f"no {self.path}; POST /v1/cosign"})
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                return self._answer(413, {"error": f"a request body is 1..{MAX_BODY} bytes"})
            try:
                doc = json.loads(self.rfile.read(length))
                if not isinstance(doc, dict):
                    raise ValueError("not a JSON object")
                signature = policy.sign(doc)
            except (ValueError, Refused) as exc:
                log.warning("co-signature refused", extra={"why": str(exc)})
                return self._answer(422, {"error": str(exc)})
            except Exception as exc:  # a failing chain lookup must not kill the server
                log.error("co-signing failed", extra={"why": repr(exc)})
                return self._answer(503, {"error": f"cannot check the batch now: {exc!r}"})
            log.info("batch co-signed", extra={"reports": len(doc["reports"])})
            self._answer(200, {"signer": policy.signer.account.address, "signature": "0x" + signature.hex()})

        def _answer(self, status: int, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:  # JSON logs only
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="cosign").start()
    return server
