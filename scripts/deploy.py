"""Deploy the GPU Barter protocol.

Runs three ways, all following :data:`gpubarter.deploy_plan.PLAN`:

- ``gpubarter deploy --network NAME`` (the main environment, web3 8);
- ``python scripts/deploy.py [--network NAME]`` (same, without the CLI);
- ``brownie run scripts/deploy.py --network NAME`` in brownie's own environment
  (eth-brownie 1.22 pins web3 7, so it never shares the main one).

Every way writes ``deployments/<chain-id>.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _under_brownie() -> bool:
    brownie = sys.modules.get("brownie")
    return brownie is not None and brownie.network.is_connected()


def _deploy_with_brownie() -> dict[str, str]:
    import brownie  # type: ignore[import-not-found]
    from brownie import accounts, network

    from gpubarter.deploy_plan import PLAN, Call, DeployParams

    deployer = accounts[0]
    params = DeployParams()
    addresses: dict[str, str] = {}
    blocks: dict[str, int] = {}
    for step in PLAN:
        if isinstance(step, Call):
            target = getattr(brownie, step.contract)[-1]
            for args in step.each(deployer.address, addresses, params):
                getattr(target, step.function)(*args, {"from": deployer})
            continue
        container = getattr(brownie, step.contract)
        contract = container.deploy(*step.args(deployer.address, addresses, params), {"from": deployer})
        addresses[step.contract] = contract.address
        blocks[step.contract] = contract.tx.block_number
        print(f"  {step.contract:<20} {contract.address}")
    chain_id = network.chain.id
    out = ROOT / "deployments" / f"{chain_id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"chainId": chain_id, "network": network.show_active(), "deployer": deployer.address,
           "contracts": addresses, "blocks": blocks}
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")
    return addresses


def main(argv: list[str] | None = None) -> int:
    if _under_brownie():
        _deploy_with_brownie()
        return 0
    from gpubarter.cli import main as cli_main

    args = sys.argv[1:] if argv is None else argv
    return cli_main(["deploy", *args])


if __name__ == "__main__":
    sys.exit(main())
