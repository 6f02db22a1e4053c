"""The market's parts for one deployment: the relay, the indexer projector and the pruner."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from backend.market.projector import EXCHANGE, MarketProjector
from backend.market.pruner import Pruner
from gpubarter.deployment_record import Deployment
from gpubarter.errors import ChainError
from gpubarter.protocol.order_checks import Relay


def chain_time(w3: Web3) -> int:
    """The latest block's timestamp: expiry is judged by it, as the exchange judges it. (A raw
    request: web3's block formatting costs more than the call.)"""
    resp = w3.provider.make_request("eth_getBlockByNumber", ["latest", False])
    if "result" not in resp or not resp["result"]:
        raise ChainError(f"the chain did not return its latest block: {resp.get('error')}")
    return int(resp["result"]["timestamp"], 16)


@dataclass
class Market:
    w3: Web3
    relay: Relay
    projector: MarketProjector
    pruner: Pruner

    @classmethod
    def of(cls, w3: Web3, deployment: Deployment, sessions: sessionmaker[Session]) -> Market | None:
        """The market of ``deployment``, or None when it has no exchange."""
        if EXCHANGE not in deployment.contracts:
            return None
        relay = Relay(w3, deployment.contract(w3, EXCHANGE), deployment.contract(w3, "ComputeToken"),
                      deployment.contract(w3, "ComputeCredits"))
        return cls(w3, relay, MarketProjector(w3), Pruner(relay, sessions, lambda: chain_time(w3)))

    def chain_now(self) -> int:
        return chain_time(self.w3)

    def pruner_thread(self, stop: threading.Event, every_s: float) -> threading.Thread:
        return threading.Thread(target=self.pruner.run, args=(stop, every_s), name="market-pruner",
                                daemon=True)
