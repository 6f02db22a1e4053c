"""What both agents share: the structured log, the state file, deal discovery and the loop."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from backend.errors import BackendError
from gpubarter.chain.tx import TxResult
from gpubarter.errors import ChainError, TransactionReverted
from gpubarter.private_files import private_dir, read_private_json, write_private_json
from gpubarter.protocol.barter import DEAL_STATUS, BarterClient, DealInfo

#: ``BarterTypes.DealStatus`` values the agents act on.
OFFERED, ACCEPTED, FAULTED, SETTLED = (
    DEAL_STATUS.index(s) for s in ("offered", "accepted", "cooperative faulted", "settled"))


class AgentError(BackendError):
    """An agent cannot work as configured (wrong keys, missing role): fix the setup and restart."""


class AgentLog:
    """One JSON object per line (``ts``, ``agent``, ``event`` and fields); keys are never fields.

    ``records`` keeps what was logged, for the story and tests to read.
    """

    def __init__(self, agent: str, stream: TextIO | None = None, *, echo: Callable[[str], None] | None = None
                 ) -> None:
        self.agent = agent
        self.stream = stream
        self.echo = echo
        self.records: list[dict[str, Any]] = []

    def event(self, event: str, **fields: Any) -> None:
        doc = {"ts": round(time.time(), 3), "agent": self.agent, "event": event, **fields}
        self.records.append(doc)
        if self.stream is not None:
            self.stream.write(json.dumps(doc, default=str, separators=(",", ":")) + "\n")
            self.stream.flush()
        if self.echo is not None:
            self.echo(event)

    def named(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["event"] == event]


def stderr_log(agent: str) -> AgentLog:
    return AgentLog(agent, sys.stderr)


class DealWatch:
    """The deals one party takes part in, found by scanning new deal ids once (or added by :meth:`add`)
    and remembered in ``<state_dir>/deals.json`` (the scan cursor and the deal ids still live).

    A deal stays live while it is offered or accepted, and after it ended (settled, faulted) while
    ``keep(deal)`` says the party still has work on it (a released key not yet opened).
    """

    def __init__(self, client: BarterClient, state_dir: Path, mine: Callable[[DealInfo], bool],
                 keep: Callable[[DealInfo], bool] = lambda _deal: False) -> None:
        self.client = client
        self.path = private_dir(state_dir) / "deals.json"
        self.mine = mine
        self.keep = keep
        doc = read_private_json(self.path) if self.path.exists() else {}
        self.scanned = int(doc.get("scanned", 0))
        self.live: list[int] = [int(d) for d in doc.get("live", [])]

    def add(self, deal_id: int) -> None:
        """Watch ``deal_id`` from now on (a deal this party joined after the scan passed it)."""
        if deal_id not in self.live:
            self.live.append(deal_id)
            self.live.sort()

    def deals(self) -> list[DealInfo]:
        """Every live deal of ours, oldest first."""
        count = self.client.escrow.functions.dealCount().call()
        for deal_id in range(self.scanned + 1, count + 1):
            if deal_id not in self.live and self.mine(self.client.deal_info(deal_id)):
                self.live.append(deal_id)
        self.scanned = max(self.scanned, count)
        current = [self.client.deal_info(d) for d in self.live]
        live = [deal for deal in current if deal.status in (OFFERED, ACCEPTED) or self.keep(deal)]
        self.live = [deal.deal_id for deal in live]
        write_private_json(self.path, {"scanned": self.scanned, "live": self.live})
        return live


TRANSIENT: tuple[type[BaseException], ...] = (ChainError, OSError, TimeoutError)
#: requests' and web3's connection and timeout errors, matched by name (no import of either here).
_TRANSIENT_NAMES = ("ConnectionError", "Timeout", "ReadTimeout", "TimeExhausted")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: connection trouble, timeouts, node hiccups (not reverts or bad setup)."""
    if isinstance(exc, (TransactionReverted, AgentError)):
        return False
    return isinstance(exc, TRANSIENT) or type(exc).__name__ in _TRANSIENT_NAMES


def retrying(what: str, fn: Callable[[], TxResult], log: AgentLog, *, attempts: int = 4,
             base_delay_s: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> TxResult:
    """``fn()``, tried again with exponential backoff while it fails transiently."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = base_delay_s * 2 ** (attempt - 1)
            log.event("retrying", what=what, attempt=attempt, delay_s=delay, error=str(exc)[:200])
            sleep(delay)
    raise AssertionError("unreachable")


def run_loop(poll_once: Callable[[], object], stop: threading.Event, log: AgentLog, *,
             interval_s: float, max_backoff_s: float = 60.0) -> None:
    """``poll_once`` every ``interval_s`` until ``stop`` is set; transient failures back off
    exponentially (up to ``max_backoff_s``), anything else stops the loop with the error."""
    failures = 0
    log.event("started", interval_s=interval_s)
    while not stop.is_set():
        try:
            poll_once()
            failures = 0
            wait = interval_s
        except Exception as exc:
            if not is_transient(exc):
                log.event("stopped on error", error=str(exc)[:500])
                raise
            failures += 1
            wait = min(max_backoff_s, interval_s * 2 ** failures)
            log.event("poll failed; backing off", error=str(exc)[:200], failures=failures, wait_s=wait)
        stop.wait(wait)
    log.event("stopped")
