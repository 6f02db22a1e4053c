"""``gpubarter bench registry``: gas of the DatasetRegistry on a real anvil chain.

Baseline measured in the same run: a plain ETH transfer (21,000 gas, what any
transaction pays). Budget: registering a K = 4 dataset costs at most 280,000 gas.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from eth_utils import keccak

from cli.bench import Measurement
from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import DeployParams
from gpubarter.deploy_web3 import deploy_all

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
REGISTER_K4_BUDGET = 280_000


def run() -> list[Measurement]:
    with LocalChain() as chain, tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        w3 = connect(chain.url)
        gov, owner, deal = (Sender(w3, dev_account(i)) for i in range(3))
        dep = deploy_all(gov, network="local", params=DeployParams(), directory=Path(tmp))
        reg = dep.contract(w3, "DatasetRegistry")
        root, appraisal = keccak(b"root"), keccak(b"appraisal")

        def commitments(k: int, salt: bytes = b"") -> list[bytes]:
            return [keccak(salt + i.to_bytes(2, "big")) for i in range(k)]

        transfer = owner.transact(to=deal.address, value=1).gas_used
        first = owner.transact(reg.functions.register(CID, 4, commitments(4), root, appraisal))
        second = owner.transact(reg.functions.register(CID, 4, commitments(4), root, appraisal))
        k64 = owner.transact(reg.functions.register(CID, 64, commitments(64), root, appraisal))
        update = owner.transact(reg.functions.updateMetadata(1, CID, keccak(b"new")))
        replace = owner.transact(reg.functions.replaceCommitments(1, 4, commitments(4, b"n"),
                                                                  root))
        gov.transact(reg.functions.grantRole(reg.functions.DEAL_ROLE().call(), deal.address))
        lock = deal.transact(reg.functions.lockForDeal(1))
        transfer_ds = owner.transact(reg.functions.transferDatasetOwnership(1, deal.address))

    def row(name: str, gas: int, budget: int | None = None) -> Measurement:
        return Measurement(name, gas, "gas", "plain ETH transfer", transfer,
                           budget=f"<= {budget:,}" if budget else "",
                           ok=None if budget is None else gas <= budget)

    return [
        row("register K=4 (first dataset)", first.gas_used, REGISTER_K4_BUDGET),
        row("register K=4 (later datasets)", second.gas_used, REGISTER_K4_BUDGET),
        row("register K=64", k64.gas_used),
        row("updateMetadata", update.gas_used),
        row("replaceCommitments K=4", replace.gas_used),
        row("lockForDeal", lock.gas_used),
        row("transferDatasetOwnership", transfer_ds.gas_used),
    ]
