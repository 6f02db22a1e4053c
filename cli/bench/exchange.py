"""``gpubarter bench exchange``: gas of CreditExchange fills against their floor, measured in one run.

The floor (``contracts/bench/ExchangeFloor.sol``) does exactly what any fill must do and nothing
else: one plain OpenZeppelin ERC-1155 ``safeTransferFrom``, one ERC-20 ``transferFrom``, one
``ecrecover`` and one storage write (``PlainERC1155``/``PlainERC20``). Fill and floor run in the
same situation: a first settlement (new balances; the fill also caches the series' terms), then
the steady state (existing balances, a fresh order).

Budgets (issue 8):
- a single fill <= 1.25 x the floor transaction;
- the marginal gas per order in a 10-order ``fillMany`` <= 1.1 x the floor transaction
  (also shown beside the floor's own marginal in a 10-leg batch);
- the order relay accepts >= 200 signed orders/s (``backend.market.relay``: parse, recover the
  signature, check the series, one batched chain read for epoch, filled, balance and approval).

Also measured: the same through HTTP (``POST /api/v1/orders`` of a live backend on SQLite, serving
from its own process: the validation above, whose batched read also brings the chain time, and the
insert; its pruner re-checks the whole book every 5 s, in batches), 1,200 orders with one client and
with 4 at once, and with 4 on PostgreSQL (the database a public relay runs); the 4-client rates are
judged against the relay budget. The clients (httpx, threads of this process), the server and anvil
share the machine's cores.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from cli.bench import Measurement
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.contracts import deploy_contract
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy import deploy_all
from gpubarter.deploy_plan import WAD, DeployParams
from gpubarter.deployments import Deployment
from gpubarter.protocol.credits import ComputeClient
from gpubarter.protocol.exchange import SELL, ExchangeClient

BATCH = 10
#: Orders per HTTP run: about 5 s at the budget, so the pruner (every 5 s) re-checks the book inside it.
RELAY_ORDERS = 1_200
AMOUNT = 600
PRICE = 2 * WAD
DAY = 86_400
FLOOR = "floor: 1155 transfer + 20 transferFrom + ecrecover + SSTORE"
FLOOR_NEW = "floor (first: new balances)"
FLOOR_MARGINAL = f"floor in a batch of {BATCH} (marginal per leg)"


def _series(w3: Web3, dep: Deployment, gov: Sender, provider: Sender, seller: str) -> int:
    g, p = ComputeClient(gov, dep), ComputeClient(provider, dep)
    gov.transact(g.token.functions.transfer(provider.address, 10_000 * WAD))
    p.register("bafkreiprovidermetadata")
    p.stake(10_000 * WAD)
    now = int(w3.eth.get_block("latest")["timestamp"])
    sid = p.create_series(1, now, now + 30 * DAY).value
    p.mint(sid, 1_000_000, seller)
    return sid


def _fills(w3: Web3, dep: Deployment, s: list[Sender]) -> tuple[dict[str, int], ExchangeClient, int]:
    gov, provider, seller, buyer = s[:4]
    sid = _series(w3, dep, gov, provider, seller.address)
    gov.transact(dep.contract(w3, "ComputeToken").functions.transfer(buyer.address, 100_000 * WAD))
    maker, taker = ExchangeClient(seller, dep), ExchangeClient(buyer, dep)
    maker.approve()
    taker.approve()
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + DAY

    def order() -> Any:
        return maker.make(SELL, sid, AMOUNT, PRICE, expiry)

    gas = {"fill (first of the series: caches terms, new balances)": taker.fill(order(), AMOUNT).gas_used,
           "fill (single order)": taker.fill(order(), AMOUNT).gas_used}
    one = taker.fill_many([(order(), AMOUNT)]).gas_used
    many = taker.fill_many([(order(), AMOUNT) for _ in range(BATCH)]).gas_used
    gas[f"fillMany of {BATCH} (marginal per order)"] = (many - one) // (BATCH - 1)
    partial = order()
    taker.fill(partial, AMOUNT // 2)
    gas["fill (partial, order already part-filled)"] = taker.fill(partial, AMOUNT // 2).gas_used
    gas["cancel"] = maker.cancel(order().order).gas_used
    gas["raise epoch"] = maker.raise_epoch(1).gas_used
    return gas, maker, sid


def _payloads(w3: Web3, maker: ExchangeClient, sid: int, n: int) -> list[dict[str, Any]]:
    expiry = int(w3.eth.get_block("latest")["timestamp"]) + DAY
    epoch = maker.epoch_of(maker.sender.address)
    return [maker.make(SELL, sid, AMOUNT, PRICE, expiry, epoch=epoch).to_json() for _ in range(n)]


def _relay_rate(w3: Web3, maker: ExchangeClient, sid: int, n: int = RELAY_ORDERS) -> float:
    """Signed orders per second the relay accepts (parse, signature, series, one batched chain read)."""
    from backend.market.relay import Relay

    relay = Relay(w3, maker.exchange, maker.token, maker.credits)
    payloads = _payloads(w3, maker, sid, n)
    relay.validate(payloads[0])  # warm: series terms cached, connection open
    start = time.perf_counter()
    for payload in payloads:
        relay.validate(payload)
    return n / (time.perf_counter() - start)


#: Traders posting to the relay at once in the HTTP throughput measurement.
HTTP_CLIENTS = 4


def _relay_http_rate(rpc_url: str, w3: Web3, dep: Deployment, maker: ExchangeClient, sid: int, tmp: Path,
                     n: int = RELAY_ORDERS, clients: int = 1, database_url: str | None = None) -> float:
    """Signed orders per second ``POST /api/v1/orders`` accepts from ``clients`` keep-alive clients
    posting at once (each waits for its answer before sending its next order). The backend (API,
    indexer and pruner, as ``gpubarter api`` runs them) serves from its own process, on
    ``database_url`` (a fresh SQLite file by default)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from cli.bench.api import server_process
    from gpubarter.deployments import save_deployment

    payloads = _payloads(w3, maker, sid, n + clients)
    save_deployment(dep, tmp)
    database_url = database_url or f"sqlite:///{tmp / f'index-{clients}.sqlite3'}"
    with server_process("cli.bench._relay_server", rpc_url, str(tmp), database_url) as server:
        url = f"http://127.0.0.1:{server.port}"
        sessions = [httpx.Client(base_url=url, timeout=30) for _ in range(clients)]
        try:
            for client, payload in zip(sessions, payloads, strict=False):  # warm: one connection each
                client.post("/api/v1/orders", json=payload).raise_for_status()
            shares = [payloads[clients + i::clients] for i in range(clients)]

            def post_all(i: int) -> None:
                for payload in shares[i]:
                    sessions[i].post("/api/v1/orders", json=payload).raise_for_status()

            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(post_all, range(clients)))
            return n / (time.perf_counter() - start)
        finally:
            for client in sessions:
                client.close()


def _floor(s: list[Sender]) -> dict[str, int]:
    gov, seller, buyer = s[0], s[4], s[5]
    erc1155, _ = deploy_contract(gov, "PlainERC1155")
    erc20, _ = deploy_contract(gov, "PlainERC20")
    floor, _ = deploy_contract(gov, "ExchangeFloor")
    gov.transact(erc1155.functions.mint(seller.address, 1, 10**9, b""))
    gov.transact(erc20.functions.mint(buyer.address, 10**30))
    seller.transact(erc1155.functions.setApprovalForAll(floor.address, True))
    buyer.transact(erc20.functions.approve(floor.address, 2**256 - 1))

    def leg() -> tuple[Any, ...]:
        digest = secrets.token_bytes(32)
        sig = Account.unsafe_sign_hash(digest, seller.account.key)
        return (seller.address, 1, AMOUNT, PRICE // 6, digest, sig.v, sig.r.to_bytes(32, "big"),
                sig.s.to_bytes(32, "big"))

    f = floor.functions
    gas = {FLOOR_NEW: buyer.transact(f.settle(erc1155.address, erc20.address, leg())).gas_used,
           FLOOR: buyer.transact(f.settle(erc1155.address, erc20.address, leg())).gas_used}
    one = buyer.transact(f.settleMany(erc1155.address, erc20.address, [leg()])).gas_used
    legs = [leg() for _ in range(BATCH)]
    many = buyer.transact(f.settleMany(erc1155.address, erc20.address, legs)).gas_used
    gas[FLOOR_MARGINAL] = (many - one) // (BATCH - 1)
    return gas


def run() -> list[Measurement]:
    from devservers.postgres import PostgresServer, ensure_postgres

    ensure_postgres()

    with LocalChain() as chain, tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        w3 = connect(chain.url)
        senders = [Sender(w3, dev_account(i)) for i in range(6)]
        dep = deploy_all(senders[0], network="local", params=DeployParams(), directory=Path(tmp), save=False)
        floor = _floor(senders)
        fills, maker, sid = _fills(w3, dep, senders)
        rate = _relay_rate(w3, maker, sid)
        http_rate = _relay_http_rate(chain.url, w3, dep, maker, sid, Path(tmp))
        http_rate_4 = _relay_http_rate(chain.url, w3, dep, maker, sid, Path(tmp), clients=HTTP_CLIENTS)
        with PostgresServer() as pg:
            pg_rate_4 = _relay_http_rate(chain.url, w3, dep, maker, sid, Path(tmp), clients=HTTP_CLIENTS,
                                         database_url=pg.create_database("bench_relay"))
    rows = [Measurement(f"baseline: {name}", gas, "gas") for name, gas in floor.items()]
    base = floor[FLOOR]
    for name, gas in fills.items():
        if name == "fill (single order)":
            rows.append(Measurement(name, gas, "gas", FLOOR, base, "<= 1.25x floor", gas <= 1.25 * base))
        elif name.startswith("fillMany"):
            rows.append(Measurement(name, gas, "gas", FLOOR, base, "<= 1.1x floor", gas <= 1.1 * base))
            rows.append(Measurement(f"{name} vs the floor's marginal", gas, "gas", FLOOR_MARGINAL,
                                    floor[FLOOR_MARGINAL]))
        elif name.startswith("fill (first"):
            rows.append(Measurement(name, gas, "gas", FLOOR_NEW, floor[FLOOR_NEW]))
        else:
            rows.append(Measurement(name, gas, "gas", FLOOR, base))
    rows.append(Measurement("relay: signed orders accepted per second (one process)", rate, "orders/s",
                            budget=">= 200 orders/s", ok=rate >= 200))
    rows.append(Measurement("relay over HTTP: POST /api/v1/orders accepted per second (SQLite, one client)",
                            http_rate, "orders/s", "relay in one process", rate))
    rows.append(Measurement(f"relay over HTTP: POST /api/v1/orders accepted per second (SQLite, "
                            f"{HTTP_CLIENTS} clients at once)", http_rate_4, "orders/s",
                            "relay in one process", rate, ">= 200 orders/s", http_rate_4 >= 200))
    rows.append(Measurement(f"relay over HTTP: POST /api/v1/orders accepted per second (PostgreSQL, "
                            f"{HTTP_CLIENTS} clients at once)", pg_rate_4, "orders/s",
                            "relay in one process", rate, ">= 200 orders/s", pg_rate_4 >= 200))
    return rows
