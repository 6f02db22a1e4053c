"""The meter's durable state: SQLite in WAL mode with full fsync.

What it holds:

- ``jobs`` and ``job_processes``: which processes belong to which job (pid plus the
  process's start time, so a reused pid never counts for the wrong job);
- ``counters``: cumulative per (job, GPU) counters, updated in one transaction per
  sample, so a crash loses at most the sample in flight and never counts one twice;
- ``reports`` and ``batches``: every signed report, persisted before any submission;
- the submission queue: a batch moves ``signed -> submitted(tx hash) -> confirmed``
  (or back to ``signed`` when a submission is dropped), and nothing else;
- ``finalizations`` and ``challenges``: the on-chain batches the finaliser follows, and the
  challenged entries it lapses when the arbiter did not rule in time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from oracle.attribution import Increment
from oracle.errors import StoreError
from oracle.reports import UsageReport

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,            -- uint256 as decimal text
    gpus TEXT NOT NULL,                 -- JSON list of GPU indices pinned, [] = any
    created_at REAL NOT NULL,
    ended_at REAL
);
CREATE TABLE IF NOT EXISTS job_processes (
    pid INTEGER NOT NULL,
    create_time REAL NOT NULL,          -- psutil create_time: tells reused pids apart
    job_id TEXT NOT NULL REFERENCES jobs(job_id),
    source TEXT NOT NULL CHECK (source IN ('launched', 'registered', 'child')),
    first_seen REAL NOT NULL,
    PRIMARY KEY (pid, create_time)
);
CREATE TABLE IF NOT EXISTS counters (
    job_id TEXT NOT NULL,
    gpu_uuid TEXT NOT NULL,
    gpu_model TEXT NOT NULL,
    allocated_ms INTEGER NOT NULL DEFAULT 0,
    sm_active_ms INTEGER NOT NULL DEFAULT 0,
    energy_mj INTEGER NOT NULL DEFAULT 0,
    samples INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    reported_samples INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, gpu_uuid)
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id INTEGER NOT NULL,
    verifying_contract TEXT NOT NULL,
    digest TEXT NOT NULL,
    signer TEXT NOT NULL,
    signature TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('signed', 'submitted', 'confirmed', 'split')),
    tx_hash TEXT,
    block_number INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    job_id TEXT NOT NULL,
    gpu_uuid TEXT NOT NULL,
    gpu_model TEXT NOT NULL,
    allocated_ms INTEGER NOT NULL,
    sm_active_ms INTEGER NOT NULL,
    energy_mj INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    period_end INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS finalizations (
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,             -- the MeteringOracle, lower case
    batch_id INTEGER NOT NULL,          -- the on-chain batch id
    final_at INTEGER NOT NULL,          -- unix seconds: finalisable from then on
    entries TEXT NOT NULL,              -- JSON [[job id (decimal text), gpu-seconds], ...] in entry order
    state TEXT NOT NULL CHECK (state IN ('pending', 'final')),
    tx_hash TEXT,
    PRIMARY KEY (chain_id, contract, batch_id)
);
CREATE TABLE IF NOT EXISTS challenges (
    chain_id INTEGER NOT NULL,
    contract TEXT NOT NULL,             -- the MeteringOracle, lower case
    batch_id INTEGER NOT NULL,          -- the on-chain batch id
    entry INTEGER NOT NULL,             -- the challenged entry's index in its batch
    resolve_by INTEGER NOT NULL,        -- unix seconds: the arbiter rules until then, anyone lapses after
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    tx_hash TEXT,                       -- our lapse, if it was ours
    PRIMARY KEY (chain_id, contract, batch_id, entry)
);
CREATE TABLE IF NOT EXISTS cosignatures (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    signer TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (batch_id, signer)
);
CREATE INDEX IF NOT EXISTS reports_batch ON reports(batch_id);
CREATE INDEX IF NOT EXISTS batches_state ON batches(state);
"""

TRANSITIONS = {
    ("signed", "submitted"), ("submitted", "confirmed"), ("submitted", "signed"), ("signed", "split"),
}
STATES = ("signed", "submitted", "confirmed", "split")


@dataclass(frozen=True)
class UsageCounter:
    job_id: int
    gpu_uuid: str
    gpu_model: str
    allocated_ms: int
    sm_active_ms: int
    energy_mj: int
    samples: int


@dataclass(frozen=True)
class Batch:
    id: int
    chain_id: int
    verifying_contract: str
    digest: str
    signer: str
    signature: str
    simulated: bool
    state: str
    tx_hash: str | None
    block_number: int | None
    attempts: int
    reports: tuple[UsageReport, ...]


@dataclass(frozen=True)
class Finalization:
    """An accepted on-chain batch waiting for (or past) its challenge period."""

    batch_id: int
    final_at: int
    entries: tuple[tuple[int, int], ...]  # (job id, gpu-seconds) in entry order
    state: str


@dataclass(frozen=True)
class Challenge:
    """A challenged entry of an on-chain batch, settled by the arbiter's ruling or, after
    ``resolve_by``, by anyone's ``lapse``."""

    batch_id: int
    entry: int
    resolve_by: int
    state: str


@dataclass(frozen=True)
class JobRecord:
    job_id: int
    gpus: tuple[int, ...]
    ended: bool
    processes: tuple[tuple[int, float, str], ...]  # (pid, create_time, source)


class MeterStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the meter database {self.path}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta --------------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # -- jobs --------------------------------------------------------------------------------

    def add_job(self, job_id: int, gpus: Iterable[int] = ()) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO jobs (job_id, gpus, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(job_id) DO UPDATE SET ended_at=NULL",
                (str(job_id), json.dumps(sorted(set(gpus))), time.time()),
            )

    def end_job(self, job_id: int) -> None:
        with self.tx() as db:
            cur = db.execute(
                "UPDATE jobs SET ended_at=? WHERE job_id=?", (time.time(), str(job_id))
            )
            if cur.rowcount == 0:
                raise StoreError(f"job {job_id} is not known to this meter")

    def add_process(self, job_id: int, pid: int, create_time: float, source: str) -> bool:
        """Record that process (pid, create_time) is the job's; False if already recorded."""
        with self.tx() as db:
            owner = db.execute(
                "SELECT job_id FROM job_processes WHERE pid=? AND create_time=?", (pid, create_time)
            ).fetchone()
            if owner is not None:
                if owner[0] != str(job_id):
                    raise StoreError(f"process {pid} already belongs to job {owner[0]}")
                return False
            if db.execute("SELECT 1 FROM jobs WHERE job_id=?", (str(job_id),)).fetchone() is None:
                raise StoreError(f"job {job_id} is not known to this meter")
            db.execute(
                "INSERT INTO job_processes VALUES (?, ?, ?, ?, ?)",
                (pid, create_time, str(job_id), source, time.time()),
            )
            return True

    def jobs(self, *, active_only: bool = True) -> list[JobRecord]:
        where = "WHERE ended_at IS NULL" if active_only else ""
        out = []
        for job_id, gpus, ended in self.db.execute(
            f"SELECT job_id, gpus, ended_at FROM jobs {where} ORDER BY created_at"
        ).fetchall():
            procs = self.db.execute(
                "SELECT pid, create_time, source FROM job_processes "
                "WHERE job_id=? ORDER BY first_seen",
                (job_id,),
            ).fetchall()
            out.append(
                JobRecord(
                    int(job_id),
                    tuple(json.loads(gpus)),
                    ended is not None,
                    tuple((int(p), float(c), s) for p, c, s in procs),
                )
            )
        return out

    # -- counters ----------------------------------------------------------------------------

    def apply(self, increments: Iterable[Increment]) -> None:
        """Add one sample's increments, atomically."""
        now = time.time()
        with self.tx() as db:
            for inc in increments:
                db.execute(
                    "INSERT INTO counters (job_id, gpu_uuid, gpu_model, allocated_ms, "
                    "sm_active_ms, energy_mj, samples, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(job_id, gpu_uuid) DO UPDATE SET "
                    "allocated_ms=allocated_ms+excluded.allocated_ms, "
                    "sm_active_ms=sm_active_ms+excluded.sm_active_ms, "
                    "energy_mj=energy_mj+excluded.energy_mj, samples=samples+excluded.samples, "
                    "updated_at=excluded.updated_at",
                    (
                        str(inc.job_id),
                        inc.gpu_uuid,
                        inc.gpu_model,
                        inc.allocated_ms,
                        inc.sm_active_ms,
                        inc.energy_mj,
                        inc.samples,
                        now,
                    ),
                )

    def counters(self, *, unreported_only: bool = False) -> list[UsageCounter]:
        where = "WHERE samples > reported_samples" if unreported_only else ""
        rows = self.db.execute(
            "SELECT job_id, gpu_uuid, gpu_model, allocated_ms, sm_active_ms, energy_mj, samples "
            f"FROM counters {where} ORDER BY length(job_id), job_id, gpu_uuid"
        ).fetchall()
        return [UsageCounter(int(r[0]), *r[1:]) for r in rows]

    # -- reports and the submission queue ----------------------------------------------------

    def add_batch(
        self,
        *,
        chain_id: int,
        verifying_contract: str,
        digest: bytes,
        signer: str,
        signature: bytes,
        simulated: bool,
        reports: list[UsageReport],
    ) -> int:
        """Persist a signed batch and mark its counters reported, in one transaction."""
        with self.tx():
            return self._insert_batch(
                chain_id=chain_id, verifying_contract=verifying_contract, digest=digest, signer=signer,
                signature=signature, simulated=simulated, reports=reports)

    def _insert_batch(self, *, chain_id: int, verifying_contract: str, digest: bytes, signer: str,
                      signature: bytes, simulated: bool, reports: list[UsageReport]) -> int:
        now = time.time()
        db = self.db
        cur = db.execute(
            "INSERT INTO batches (chain_id, verifying_contract, digest, signer, signature, "
            "simulated, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'signed', ?, ?)",
            (chain_id, verifying_contract, "0x" + digest.hex(), signer, "0x" + signature.hex(),
             int(simulated), now, now),
        )
        batch_id = int(cur.lastrowid or 0)
        for r in reports:
            db.execute(
                "INSERT INTO reports (batch_id, job_id, gpu_uuid, gpu_model, allocated_ms, "
                "sm_active_ms, energy_mj, samples, period_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, str(r.job_id), r.gpu_uuid, r.gpu_model, r.allocated_ms, r.sm_active_ms,
                 r.energy_mj, r.samples, r.period_end),
            )
            db.execute(
                "UPDATE counters SET reported_samples=max(reported_samples, ?) WHERE job_id=? AND gpu_uuid=?",
                (r.samples, str(r.job_id), r.gpu_uuid),
            )
        return batch_id

    def batch(self, batch_id: int) -> Batch:
        row = self.db.execute(
            "SELECT id, chain_id, verifying_contract, digest, signer, signature, simulated, state, "
            "tx_hash, block_number, attempts FROM batches WHERE id=?",
            (batch_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no batch {batch_id} in {self.path}")
        reports = tuple(
            UsageReport(int(r[0]), *r[1:])
            for r in self.db.execute(
                "SELECT job_id, gpu_uuid, gpu_model, allocated_ms, sm_active_ms, energy_mj, "
                "samples, period_end FROM reports WHERE batch_id=? ORDER BY id",
                (batch_id,),
            ).fetchall()
        )
        return Batch(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            bool(row[6]),
            row[7],
            row[8],
            row[9],
            row[10],
            reports,
        )

    def batches(self, state: str | None = None) -> list[Batch]:
        if state is not None and state not in STATES:
            raise StoreError(f"unknown batch state {state!r}")
        ids = self.db.execute(
            "SELECT id FROM batches WHERE (? IS NULL OR state=?) ORDER BY id", (state, state)
        ).fetchall()
        return [self.batch(i) for (i,) in ids]

    def _move(self, batch_id: int, to: str, **fields: object) -> None:
        with self.tx():
            self._move_in_tx(batch_id, to, **fields)

    def _move_in_tx(self, batch_id: int, to: str, **fields: object) -> None:
        row = self.db.execute("SELECT state FROM batches WHERE id=?", (batch_id,)).fetchone()
        if row is None:
            raise StoreError(f"no batch {batch_id} in {self.path}")
        if (row[0], to) not in TRANSITIONS:
            raise StoreError(f"batch {batch_id} is {row[0]}; it cannot become {to}")
        sets = "".join(f", {k}=?" for k in fields)
        self.db.execute(f"UPDATE batches SET state=?, updated_at=?{sets} WHERE id=?",
                        (to, time.time(), *fields.values(), batch_id))

    def mark_submitted(self, batch_id: int, tx_hash: str) -> None:
        if not (tx_hash.startswith("0x") and len(tx_hash) == 66):
            raise StoreError(f"{tx_hash!r} is not a transaction hash (0x + 64 hex digits)")
        attempts = self.batch(batch_id).attempts + 1
        self._move(batch_id, "submitted", tx_hash=tx_hash, attempts=attempts)

    def mark_confirmed(self, batch_id: int, block_number: int) -> None:
        if block_number < 0:
            raise StoreError(f"block number must not be negative, not {block_number}")
        self._move(batch_id, "confirmed", block_number=block_number)

    def mark_dropped(self, batch_id: int) -> None:
        """A submitted transaction vanished (replaced, reorged out): queue the batch again."""
        self._move(batch_id, "signed", tx_hash=None)

    def queue_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM batches GROUP BY state"):
            counts[state] = n
        return counts

    # -- co-signatures ------------------------------------------------------------------------

    def add_cosignature(self, batch_id: int, signer: str, signature: bytes) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO cosignatures VALUES (?, ?, ?)",
                       (batch_id, signer, "0x" + signature.hex()))

    def cosignatures(self, batch_id: int) -> dict[str, bytes]:
        """Signer address -> signature of the peers that co-signed batch ``batch_id``."""
        rows = self.db.execute("SELECT signer, signature FROM cosignatures WHERE batch_id=?", (batch_id,))
        return {signer: bytes.fromhex(sig[2:]) for signer, sig in rows}

    def split_batch(self, batch_id: int, parts: list[dict[str, object]]) -> list[int]:
        """Replace signed batch ``batch_id`` by ``parts`` (``add_batch`` keyword arguments), atomically."""
        ids = []
        with self.tx():
            self._move_in_tx(batch_id, "split")
            for part in parts:
                ids.append(self._insert_batch(**part))  # type: ignore[arg-type]
        return ids

    # -- finalisation --------------------------------------------------------------------------

    def cursor(self, chain_id: int, contract: str) -> int:
        """The next block the finaliser has not read yet (0 at first)."""
        value = self.meta(f"finalizer:{chain_id}:{contract.lower()}")
        return int(value) if value is not None else 0

    def add_finalizations(self, chain_id: int, contract: str, found: Iterable[Finalization],
                          next_block: int, challenged: Iterable[Challenge] = ()) -> None:
        """Record batches and challenges found up to ``next_block`` (exclusive) and advance the cursor,
        atomically."""
        with self.tx() as db:
            for f in found:
                db.execute(
                    "INSERT OR IGNORE INTO finalizations VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (chain_id, contract.lower(), f.batch_id, f.final_at,
                     json.dumps([[str(j), s] for j, s in f.entries]), f.state))
            for c in challenged:
                db.execute("INSERT OR IGNORE INTO challenges VALUES (?, ?, ?, ?, ?, ?, NULL)",
                           (chain_id, contract.lower(), c.batch_id, c.entry, c.resolve_by, c.state))
            db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (f"finalizer:{chain_id}:{contract.lower()}", str(next_block)))

    def finalizations(self, chain_id: int, contract: str,
                      state: str | None = "pending") -> list[Finalization]:
        rows = self.db.execute(
            "SELECT batch_id, final_at, entries, state FROM finalizations WHERE chain_id=? AND contract=? "
            "AND (? IS NULL OR state=?) ORDER BY batch_id", (chain_id, contract.lower(), state, state))
        return [Finalization(b, t, tuple((int(j), int(s)) for j, s in json.loads(e)), st)
                for b, t, e, st in rows]

    def finalization_counts(self) -> dict[str, int]:
        """On-chain batches seen waiting for their challenge period (``pending``) or finalised (``final``)."""
        counts = dict.fromkeys(("pending", "final"), 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM finalizations GROUP BY state"):
            counts[state] = n
        return counts

    def mark_final(self, chain_id: int, contract: str, batch_id: int, tx_hash: str | None) -> None:
        with self.tx() as db:
            cur = db.execute("UPDATE finalizations SET state='final', tx_hash=? WHERE chain_id=? AND "
                             "contract=? AND batch_id=? AND state='pending'",
                             (tx_hash, chain_id, contract.lower(), batch_id))
            if cur.rowcount != 1:
                raise StoreError(f"batch {batch_id} of {contract} is not pending finalisation")

    def challenges(self, chain_id: int, contract: str, state: str | None = "open") -> list[Challenge]:
        rows = self.db.execute(
            "SELECT batch_id, entry, resolve_by, state FROM challenges WHERE chain_id=? AND contract=? "
            "AND (? IS NULL OR state=?) ORDER BY batch_id, entry", (chain_id, contract.lower(), state, state))
        return [Challenge(*row) for row in rows]

    def challenge_counts(self) -> dict[str, int]:
        """Challenged entries seen waiting for a ruling (``open``) or settled (``closed``)."""
        counts = dict.fromkeys(("open", "closed"), 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM challenges GROUP BY state"):
            counts[state] = n
        return counts

    def mark_challenge_closed(self, chain_id: int, contract: str, batch_id: int, entry: int,
                              tx_hash: str | None) -> None:
        with self.tx() as db:
            cur = db.execute("UPDATE challenges SET state='closed', tx_hash=? WHERE chain_id=? "
                             "AND contract=? AND batch_id=? AND entry=? AND state='open'",
                             (tx_hash, chain_id, contract.lower(), batch_id, entry))
            if cur.rowcount != 1:
                raise StoreError(f"entry {entry} of batch {batch_id} of {contract} has no open challenge")
