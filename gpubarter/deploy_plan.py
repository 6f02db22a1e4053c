"""The order in which the protocol's contracts are deployed, and their arguments.

Pure data with no web3 import, so both ``gpubarter deploy`` (web3 8) and
``brownie run scripts/deploy.py`` (brownie's own web3 7 environment) follow the
same plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WAD = 10**18


@dataclass(frozen=True)
class DeployParams:
    initial_supply_cpt: int = 1_000_000
    faucet_amount_cpt: int = 1_000
    faucet_cooldown_s: int = 86_400


@dataclass(frozen=True)
class Step:
    contract: str
    #: Constructor arguments from (deployer address, addresses deployed so far, params).
    args: Callable[[str, dict[str, str], DeployParams], list[Any]]


PLAN: tuple[Step, ...] = (
    Step("ComputeToken", lambda deployer, _a, p: [
        deployer, p.initial_supply_cpt * WAD, p.faucet_amount_cpt * WAD, p.faucet_cooldown_s]),
    # Governance (the deployer) administers it and grants DEAL_ROLE to the escrow later.
    Step("DatasetRegistry", lambda deployer, _a, _p: [deployer]),
)
