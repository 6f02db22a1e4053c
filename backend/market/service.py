"""The market's parts for one deployment: the relay, the indexer projector and the pruner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from backend.market.projector import EXCHANGE, MarketProjector
from backend.market.pruner import Pruner
from backend.market.relay import Relay
from gpubarter.chain.contracts import Deployment
from gpubarter.errors import ChainError


def chain_time(w3: Web3) -> int:
    """The latest block's timestamp: expiry is judged by it, as the exchange judges it. (A raw
    request: web3's block formatting costs more than the call.)"""
    resp = w3.provider.make_request("eth_getBlockByNumber", ["latest", False])
    if "result" not in resp or not resp["result"]:
        raise ChainError(f"the chain did not return its latest block: {resp.get('error')}")
    return int(resp["result"]["timestamp"], 16)


class ChainClock:
    """The chain's time, read from the node at most once per ``max_age_s`` and advanced in between by
    the monotonic seconds elapsed since that read.

    Expiry is judged with at most ``max_age_s`` (1 s) of staleness: an order that expires within that
    second may still be accepted, and the pruner re-checks every live order against a fresh read.
    (Anvil and real chains move their timestamp with the wall clock; a jump, such as ``evm_increaseTime``
    in tests, shows after at most ``max_age_s``.)"""

    def __init__(self, read: Callable[[], int], max_age_s: float = 1.0) -> None:
        self._read, self._max_age_s = read, max_age_s
        self._lock = threading.Lock()
        self._at: float | None = None
        self._value = 0

    def now(self) -> int:
        with self._lock:
            mono = time.monotonic()
            if self._at is None or mono - self._at >= self._max_age_s:
                self._value, self._at = self._read(), mono
            return self._value + int(mono - self._at)


@dataclass
class Market:
    w3: Web3
    relay: Relay
    projector: MarketProjector
    pruner: Pruner
    clock: ChainClock | None = field(default=None)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = ChainClock(lambda: chain_time(self.w3))

    @classmethod
    def of(cls, w3: Web3, deployment: Deployment, sessions: sessionmaker[Session]) -> Market | None:
        """The market of ``deployment``, or None when it has no exchange."""
        if EXCHANGE not in deployment.contracts:
            return None
        relay = Relay(w3, deployment.contract(w3, EXCHANGE), deployment.contract(w3, "ComputeToken"),
                      deployment.contract(w3, "ComputeCredits"))
        return cls(w3, relay, MarketProjector(w3), Pruner(relay, sessions, lambda: chain_time(w3)))

    def chain_now(self) -> int:
        """The chain's time for the relay, cached for up to a second (see :class:`ChainClock`)."""
        assert self.clock is not None
        return self.clock.now()

    def pruner_thread(self, stop: threading.Event, every_s: float) -> threading.Thread:
        return threading.Thread(target=self.pruner.run, args=(stop, every_s), name="market-pruner",
                                daemon=True)
