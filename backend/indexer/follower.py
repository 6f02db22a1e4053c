"""Follow the chain: index protocol events with a confirmation depth, survive restarts
(the cursor is in the database) and reorgs (rewind to the common ancestor, replay).

Each :meth:`Follower.step` indexes at most ``chunk`` blocks in one database
transaction: events, the hashes of the blocks they came from, and the cursor move
together or not at all, so a crash never leaves a half-indexed range.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from backend.db.models import ChainEvent, Cursor, IndexedBlock
from backend.errors import ReorgTooDeep
from backend.indexer.decode import LogDecoder, checksum
from gpubarter.deployment_record import Deployment

log = logging.getLogger("gpubarter.indexer")


#: Contracts a protocol factory creates: (factory, event) -> (the event's address argument, child contract).
#: The follower indexes the children's events too, from the block they were created in.
CHILD_CONTRACTS: dict[tuple[str, str], tuple[str, str]] = {
    ("CooperativeFactory", "CooperativeCreated"): ("cooperative", "DataCooperative"),
}


class Projector(Protocol):
    """Keeps resource tables in step with events; rebuilt from ``events`` after a reorg, and when the
    index was projected by another ``version`` of it (an optional int attribute, default 1)."""

    def reset(self, session: Session) -> None: ...

    def apply(self, session: Session, event: ChainEvent) -> None: ...


@dataclass(frozen=True)
class StepResult:
    events: int
    from_block: int
    to_block: int
    rewound_to: int | None = None


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class Follower:
    def __init__(self, w3: Web3, deployment: Deployment, sessions: sessionmaker[Session], *,
                 confirmations: int = 0, chunk: int = 2_000, max_reorg_depth: int = 256,
                 projectors: Sequence[Projector] = (), name: str = "events") -> None:
        self.w3 = w3
        self.deployment = deployment
        self.sessions = sessions
        self.confirmations = confirmations
        self.chunk = chunk
        self.max_reorg_depth = max_reorg_depth
        self.projectors = tuple(projectors)
        self.name = name
        self.decoder = LogDecoder(deployment)
        self._children_loaded = False
        self._projections_checked = False

    # ------------------------------------------------------------------ public

    def head(self) -> int:
        """The newest block the index may hold under the confirmation depth."""
        return self.w3.eth.block_number - self.confirmations

    def cursor(self) -> int:
        with self.sessions() as s:
            cur = s.get(Cursor, self.name)
            return cur.block_number if cur else self.deployment.start_block - 1

    def step(self) -> StepResult:
        with self.sessions() as session, session.begin():
            cursor = self._load_cursor(session)
            self._ensure_projections(session)
            rewound = self._rewind_if_reorged(session, cursor)
            start = cursor.block_number + 1
            head = self.head()
            if head < start:
                return StepResult(0, start, cursor.block_number, rewound)
            end = min(head, cursor.block_number + self.chunk)
            added = self._index_range(session, cursor, start, end)
            return StepResult(added, start, end, rewound)

    def catch_up(self, *, progress: Callable[[StepResult], None] | None = None) -> int:
        """Step until the index reaches the confirmed head; returns events added."""
        total = 0
        while True:
            result = self.step()
            total += result.events
            if progress:
                progress(result)
            if result.to_block >= self.head():
                return total

    def follow(self, *, poll_seconds: float = 1.0, stop: Callable[[], bool] = lambda: False) -> None:
        """Index forever (until ``stop()``), polling for new blocks."""
        while not stop():
            try:
                self.catch_up()
            except ReorgTooDeep:
                raise
            except Exception:  # a node hiccup: log it and try again on the next poll
                log.exception("indexer step failed; retrying")
            time.sleep(poll_seconds)

    # ----------------------------------------------------------------- internal

    def _load_cursor(self, session: Session) -> Cursor:
        cur = session.get(Cursor, self.name)
        if cur is None:
            number = max(self.deployment.start_block - 1, 0)
            cur = Cursor(name=self.name, chain_id=self.deployment.chain_id, block_number=number,
                         block_hash=_hex(self.w3.eth.get_block(number)["hash"]))
            session.add(cur)
            session.merge(IndexedBlock(number=number, hash=cur.block_hash))
            session.flush()
        return cur

    def _chain_hash(self, number: int) -> str | None:
        try:
            return _hex(self.w3.eth.get_block(number)["hash"])
        except Exception:  # the chain is shorter than this block now
            return None

    def _rewind_if_reorged(self, session: Session, cursor: Cursor) -> int | None:
        if self._chain_hash(cursor.block_number) == cursor.block_hash:
            return None
        ancestor = self.deployment.start_block - 1
        rows = session.scalars(select(IndexedBlock).where(IndexedBlock.number <= cursor.block_number)
                               .order_by(IndexedBlock.number.desc()))
        for row in rows:
            if cursor.block_number - row.number > self.max_reorg_depth:
                raise ReorgTooDeep(f"chain reorganised more than {self.max_reorg_depth} blocks below "
                                   f"block {cursor.block_number}; rebuild the index")
            if self._chain_hash(row.number) == row.hash:
                ancestor = row.number
                break
        ancestor = max(ancestor, 0)
        log.warning("reorg detected at block %d: rewinding to %d", cursor.block_number, ancestor)
        session.execute(delete(ChainEvent).where(ChainEvent.block_number > ancestor))
        session.execute(delete(IndexedBlock).where(IndexedBlock.number > ancestor))
        cursor.block_number = ancestor
        cursor.block_hash = self._chain_hash(ancestor) or cursor.block_hash
        session.merge(IndexedBlock(number=ancestor, hash=cursor.block_hash))
        self._rebuild_projections(session)
        session.flush()
        return ancestor

    def _ensure_projections(self, session: Session) -> None:
        """Rebuild the projections once from the stored events when they were built by another
        version of the projector (or never: an index that predates them)."""
        if self._projections_checked:
            return
        stale = False
        for p in self.projectors:
            name = f"projector:{type(p).__name__}"[:64]
            version = int(getattr(p, "version", 1))
            mark = session.get(Cursor, name)
            if mark is None or mark.block_number != version:
                stale = True
                session.merge(Cursor(name=name, chain_id=self.deployment.chain_id, block_number=version,
                                     block_hash=""))
        if stale:  # checked again next step: this transaction may still roll back
            log.info("rebuilding resource projections from the stored events")
            self._rebuild_projections(session)
        else:
            self._projections_checked = True

    def _rebuild_projections(self, session: Session) -> None:
        if not self.projectors:
            return
        for p in self.projectors:
            p.reset(session)
        for event in session.scalars(select(ChainEvent).order_by(ChainEvent.block_number,
                                                                 ChainEvent.log_index)):
            for p in self.projectors:
                p.apply(session, event)

    def _get_logs(self, start: int, end: int, addresses: list[str] | None = None) -> list[dict[str, Any]]:
        """Raw ``eth_getLogs`` (hex strings): web3's per-log formatting costs more than decoding."""
        resp = self.w3.provider.make_request("eth_getLogs", [{
            "fromBlock": hex(start), "toBlock": hex(end), "address": addresses or self.decoder.addresses}])
        if "error" in resp:
            raise RuntimeError(f"eth_getLogs failed: {resp['error']}")
        return list(resp["result"])

    def _watch_children(self, session: Session) -> None:
        """Watch the contracts that protocol factories created (known from indexed events)."""
        if self._children_loaded:
            return
        for (contract, name), (arg, child) in CHILD_CONTRACTS.items():
            for args in session.scalars(select(ChainEvent.args).where(ChainEvent.contract == contract,
                                                                      ChainEvent.name == name)):
                self.decoder.watch(args[arg], child)
        self._children_loaded = True

    def _decode(self, logs: list[dict[str, Any]], rows: list[dict[str, Any]],
                blocks: dict[int, str]) -> list[str]:
        """Decode ``logs`` into event rows; returns the addresses of child contracts they created."""
        created: list[str] = []
        for entry in logs:
            decoded = self.decoder.decode(entry)
            if decoded is None:
                continue
            spec, args = decoded
            number = int(entry["blockNumber"], 16)
            blocks[number] = entry["blockHash"]
            rows.append({"block_number": number, "block_hash": entry["blockHash"],
                         "tx_hash": entry["transactionHash"], "log_index": int(entry["logIndex"], 16),
                         "contract": spec.contract, "address": checksum(entry["address"]),
                         "name": spec.name, "args": args})
            child = CHILD_CONTRACTS.get((spec.contract, spec.name))
            if child is not None and self.decoder.watch(args[child[0]], child[1]):
                created.append(args[child[0]])
        return created

    def _index_range(self, session: Session, cursor: Cursor, start: int, end: int) -> int:
        self._watch_children(session)
        end_hash = self._chain_hash(end)
        logs = self._get_logs(start, end)
        rows: list[dict[str, Any]] = []
        blocks: dict[int, str] = {end: end_hash} if end_hash else {}
        created = self._decode(logs, rows, blocks)
        if created:  # contracts created in this range: their own events of the range too
            self._decode(self._get_logs(start, end, created), rows, blocks)
            rows.sort(key=lambda r: (r["block_number"], r["log_index"]))
        if end_hash is None or self._chain_hash(end) != end_hash:
            return 0  # the chain moved under us: the next step re-checks and retries
        if rows:
            session.execute(insert(ChainEvent), rows)
        for number, block_hash in blocks.items():
            session.merge(IndexedBlock(number=number, hash=block_hash))
        if self.projectors and rows:
            first = rows[0]
            new = session.scalars(select(ChainEvent).where(
                (ChainEvent.block_number > first["block_number"]) |
                ((ChainEvent.block_number == first["block_number"]) &
                 (ChainEvent.log_index >= first["log_index"])))
                .order_by(ChainEvent.block_number, ChainEvent.log_index))
            for event in new:
                for p in self.projectors:
                    p.apply(session, event)
        cursor.block_number, cursor.block_hash = end, end_hash
        return len(rows)
