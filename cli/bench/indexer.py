"""``gpubarter bench indexer``: indexer catch-up rate from a local chain.

A fresh anvil gets a backlog of events (an emitter contract, 500 events per
transaction); the indexer then catches up into a fresh SQLite database. Baseline
measured in the same run: fetching the same logs with a raw ``eth_getLogs`` alone (the
floor any indexer pays). Budget: ≥ 2,000 events/s.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from cli.bench import Measurement
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.contracts import deploy_contract
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deployment_record import Deployment

EVENTS = 50_000
PER_TX = 500


def run() -> list[Measurement]:
    from backend.db import make_engine, migrate, session_factory
    from backend.indexer.follower import Follower

    with LocalChain() as chain, tempfile.TemporaryDirectory(prefix="bench-indexer-") as tmp:
        w3 = connect(chain.url, timeout=120)
        sender = Sender(w3, dev_account(0))
        emitter, result = deploy_contract(sender, "EventEmitter")
        for _ in range(EVENTS // PER_TX):
            sender.transact(emitter.functions.emitMany(PER_TX), gas=30_000_000)
        dep = Deployment(chain_id=w3.eth.chain_id, network="bench",
                         contracts={"EventEmitter": emitter.address},
                         blocks={"EventEmitter": result.block_number})

        t0 = time.perf_counter()
        logs = w3.provider.make_request("eth_getLogs", [{
            "fromBlock": hex(result.block_number), "toBlock": hex(w3.eth.block_number),
            "address": [emitter.address]}])["result"]
        fetch = time.perf_counter() - t0
        assert len(logs) == EVENTS

        engine = make_engine(f"sqlite:///{Path(tmp) / 'index.sqlite3'}")
        migrate(engine)
        follower = Follower(w3, dep, session_factory(engine))
        t0 = time.perf_counter()
        indexed = follower.catch_up()
        took = time.perf_counter() - t0
        engine.dispose()
        if indexed != EVENTS:
            raise AssertionError(f"indexed {indexed} events, expected {EVENTS}")

    rate, floor = EVENTS / took, EVENTS / fetch
    return [
        Measurement(f"indexer catch-up, {EVENTS:,} events into SQLite", rate, "events/s",
                    "eth_getLogs alone", floor, budget="≥ 2,000 events/s", ok=rate >= 2_000),
    ]
