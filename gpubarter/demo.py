"""The demo: a fresh local chain, the protocol deployed, and a scenario run on it.

For now the scenario is the compute token's: a trader takes CPT from the faucet,
pays a provider, and the provider lets a cooperative's escrow agent pull CPT with
a gasless EIP-2612 permit signed off-chain.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gpubarter.chain.accounts import dev_account
from gpubarter.chain.anvil import LocalChain
from gpubarter.chain.eip712 import sign_permit
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.deploy import deploy_all
from gpubarter.deploy_plan import WAD


@dataclass
class DemoReport:
    chain_url: str = ""
    steps: list[tuple[str, str, int]] = field(default_factory=list)  # (step, role, gas)
    balances: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def gas_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _step, role, gas in self.steps:
            out[role] = out.get(role, 0) + gas
        return out


def run_demo(*, say: Callable[[str], None] = print, workdir: Path | None = None) -> DemoReport:
    report = DemoReport()
    t0 = time.monotonic()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="gpubarter-demo-"))
    with LocalChain() as chain:
        report.chain_url = chain.url
        say(f"started a local chain at {chain.url} (anvil, chain id {chain.chain_id})")
        w3 = connect(chain.url)
        gov, trader, provider, agent = (Sender(w3, dev_account(i)) for i in range(4))

        def record(step: str, role: str, result: TxResult) -> None:
            report.steps.append((step, role, result.gas_used))
            say(f"  {step:<44} {role:<10} gas {result.gas_used:>7,}  tx {result.tx_hash[:18]}…")

        dep = deploy_all(gov, network="local", directory=workdir,
                         progress=lambda n, a, g: report.steps.append((f"deploy {n}", "governance", g)))
        say(f"deployed the protocol: ComputeToken at {dep.contracts['ComputeToken']}")
        token = dep.contract(w3, "ComputeToken")

        record("trader takes CPT from the faucet", "trader",
               trader.transact(token.functions.faucet()))
        record("trader pays the provider 250 CPT", "trader",
               trader.transact(token.functions.transfer(provider.address, 250 * WAD)))
        deadline = w3.eth.get_block("latest")["timestamp"] + 3600
        v, r, s = sign_permit(provider.account, token, agent.address, 100 * WAD, deadline)
        say("  provider signs an EIP-2612 permit off-chain for the escrow agent (no gas)")
        record("agent submits the permit", "agent", agent.transact(
            token.functions.permit(provider.address, agent.address, 100 * WAD, deadline, v, r, s)))
        record("agent pulls 100 CPT with the allowance", "agent", agent.transact(
            token.functions.transferFrom(provider.address, agent.address, 100 * WAD)))

        for role, sender in (("trader", trader), ("provider", provider), ("agent", agent)):
            report.balances[role] = token.functions.balanceOf(sender.address).call()
        expected = {"trader": 750 * WAD, "provider": 150 * WAD, "agent": 100 * WAD}
        if report.balances != expected:
            raise AssertionError(f"balances {report.balances} differ from expected {expected}")
    report.seconds = time.monotonic() - t0
    return report
