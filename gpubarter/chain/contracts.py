"""Contract objects from artifacts, deploying, and decoding a receipt's events.

Where contracts live on a chain is in :mod:`gpubarter.deployment_record`.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract

from gpubarter.chain.tx import Sender, TxResult
from gpubarter.errors import ConfigError
from gpubarter.toolchain.compiler import load_artifact


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for the compiled contract ``name`` at ``address``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])


def deploy_contract(sender: Sender, name: str, *args: Any) -> tuple[Contract, TxResult]:
    artifact = load_artifact(name)
    factory = sender.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    result = sender.transact(factory.constructor(*args))
    address = result.contract_address
    if not address:
        raise ConfigError(f"deploying {name} produced no contract address")
    return contract_at(sender.w3, name, address), result


def events(contract: Contract, name: str, receipt: Any) -> list[Any]:
    """Decoded ``name`` events that ``contract`` emitted in ``receipt`` (other logs skipped)."""
    from web3.logs import DISCARD

    return [e for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)
            if e.address == contract.address]
