"""The README's testnet guide, on anvil configured like Sepolia (chain id 11155111, 2 confirmations):
deploy with a key from the environment, a trader takes CPT from the faucet, approves the exchange
and signs an order bound to the testnet's chain id and exchange address."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.contracts import contract_at
from gpubarter.chain.network import connect
from gpubarter.paths import project_root
from gpubarter.protocol.exchange import SELL, Order
from gpubarter.protocol.exchange_types import order_digest

SEPOLIA = 11155111


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True,
                          cwd=project_root(), timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
def test_trader_connects_to_a_testnet_like_deployment(cli_env, tmp_path) -> None:
    deployer, trader = dev_account(1), dev_account(5)
    with LocalChain(chain_id=SEPOLIA, block_time=0.2) as testnet:
        env = {**cli_env, "SEPOLIA_RPC_URL": testnet.url, "GPUBARTER_PRIVATE_KEY": deployer.key.hex()}
        _cli("deploy", "--network", "sepolia", env=env)
        dep = json.loads((tmp_path / "deployments" / f"{SEPOLIA}.json").read_text())
        exchange_address = dep["contracts"]["CreditExchange"]

        env["GPUBARTER_PRIVATE_KEY"] = trader.key.hex()
        _cli("token", "faucet", "--network", "sepolia", env=env)
        _cli("market", "approve", "--network", "sepolia", env=env)
        out = tmp_path / "ask.json"
        _cli("market", "order", "sell", "1", "1", "2", "--out", str(out), "--network", "sepolia", env=env)

        w3 = connect(testnet.url)
        exchange = contract_at(w3, "CreditExchange", exchange_address)
        token = contract_at(w3, "ComputeToken", dep["contracts"]["ComputeToken"])
        assert token.functions.allowance(trader.address, exchange_address).call() == 2**256 - 1
        assert token.functions.balanceOf(trader.address).call() > 0
        signed = json.loads(out.read_text())
        order = Order(**signed["order"])
        assert order.maker == trader.address and order.side == SELL
        digest = exchange.functions.hashOrder(tuple(order.message().values())).call()
        domain = {"name": "GPU Barter CreditExchange", "version": "1", "chainId": SEPOLIA,
                  "verifyingContract": exchange_address}
        assert digest == order_digest(domain, order)
        assert digest != order_digest({**domain, "chainId": 31337}, order)
