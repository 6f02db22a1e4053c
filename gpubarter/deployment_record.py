"""``deployments/<chain-id>.json``: where each contract of the protocol lives on a chain.

Every client (CLI, oracle, backend, brownie's deploy script) reads and writes it
through this module, which imports no web3, so brownie's environment can use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpubarter import paths
from gpubarter.errors import ConfigError, DeploymentNotFound
from gpubarter.toolchain.compiler import load_artifact


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

    def contract(self, w3: Any, name: str) -> Any:
        """A web3 contract object for ``name`` (needs the main environment's web3)."""
        address = w3.to_checksum_address(self.address(name))
        return w3.eth.contract(address=address, abi=load_artifact(name)["abi"])

    @property
    def start_block(self) -> int:
        """The block of the first contract: no event of the protocol is older."""
        return min(self.blocks.values(), default=0)

    def block_of(self, name: str) -> int:
        """The block ``name`` was deployed in (where searches of its events start); the
        deployment's :attr:`start_block` when the file does not say."""
        return self.blocks.get(name, self.start_block)

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
