"""Contract artifacts, deployment, and the deployments file.

``deployments/<chain-id>.json`` records where each contract of the protocol lives
on a chain; every client (CLI, oracle, backend) loads contracts through it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from gpubarter import paths
from gpubarter.chain.tx import Sender, TxResult
from gpubarter.errors import ConfigError, DeploymentNotFound
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


@dataclass
class Deployment:
    chain_id: int
    network: str
    contracts: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, int] = field(default_factory=dict)
    deployer: str = ""

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentNotFound(f"{name} is not deployed on chain {self.chain_id}: "
                                     f"run `gpubarter deploy --network {self.network}`") from None

    def contract(self, w3: Web3, name: str) -> Contract:
        return contract_at(w3, name, self.address(name))

    @property
    def start_block(self) -> int:
        return min(self.blocks.values(), default=0)

    def to_json(self) -> dict[str, Any]:
        return {"chainId": self.chain_id, "network": self.network, "deployer": self.deployer,
                "contracts": self.contracts, "blocks": self.blocks}


def deployment_path(chain_id: int, directory: Path | None = None) -> Path:
    return (directory or paths.deployments_dir()) / f"{chain_id}.json"


def save_deployment(dep: Deployment, directory: Path | None = None) -> Path:
    path = deployment_path(dep.chain_id, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".deploy-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(dep.to_json(), f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def load_deployment(chain_id: int, directory: Path | None = None) -> Deployment:
    path = deployment_path(chain_id, directory)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentNotFound(f"no deployment for chain {chain_id} ({path} is missing): "
                                 "run `gpubarter deploy --network <name>` first") from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); redeploy or restore it") from None
    try:
        return Deployment(chain_id=int(raw["chainId"]), network=str(raw.get("network", "")),
                          contracts=dict(raw["contracts"]), blocks=dict(raw.get("blocks", {})),
                          deployer=str(raw.get("deployer", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is malformed (missing {exc}); redeploy or restore it") from None


def events(contract: Contract, name: str, receipt: Any) -> list[Any]:
    """Decoded ``name`` events that ``contract`` emitted in ``receipt`` (other logs skipped)."""
    from web3.logs import DISCARD

    return [e for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)
            if e.address == contract.address]
