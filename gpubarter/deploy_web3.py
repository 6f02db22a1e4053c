"""Deploy the protocol with web3: follow :data:`gpubarter.deploy_plan.PLAN`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gpubarter.chain.contracts import deploy_contract
from gpubarter.chain.tx import Sender
from gpubarter.deploy_plan import PLAN, Call, DeployParams
from gpubarter.deployment_record import Deployment, save_deployment
from gpubarter.settings import settings


def deploy_all(sender: Sender, *, network: str, params: DeployParams | None = None,
               directory: Path | None = None, save: bool = True,
               progress: Callable[[str, str, int], None] | None = None) -> Deployment:
    """Deploy every contract in order; write ``deployments/<chain-id>.json`` if ``save``."""
    params = params or settings().deploy.params()
    dep = Deployment(chain_id=sender.chain_id, network=network, deployer=sender.address)
    for step in PLAN:
        if isinstance(step, Call):
            target = dep.contract(sender.w3, step.contract)
            for args in step.each(sender.address, dep.contracts, params):
                result = sender.transact(getattr(target.functions, step.function)(*args))
                if progress:
                    progress(f"{step.contract}.{step.function}", target.address, result.gas_used)
            continue
        contract, result = deploy_contract(sender, step.contract,
                                           *step.args(sender.address, dep.contracts, params))
        dep.contracts[step.contract] = contract.address
        dep.blocks[step.contract] = result.block_number
        if progress:
            progress(step.contract, contract.address, result.gas_used)
    if save:
        save_deployment(dep, directory)
    return dep
