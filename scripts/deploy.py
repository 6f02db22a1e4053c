"""Deploy the GPU Barter protocol.

Runs three ways, all following :data:`gpubarter.deploy_plan.PLAN`:

- ``gpubarter deploy --network NAME`` (the main environment, web3 8);
- ``python scripts/deploy.py [--network NAME]`` (same, without the CLI);
- ``brownie run scripts/deploy.py --network NAME`` in brownie's own environment
  (eth-brownie 1.22 pins web3 7, so it never shares the main one; see
  ``gpubarter brownie --help``).

Every way writes ``deployments/<chain-id>.json`` (``GPUBARTER_DEPLOYMENTS_DIR`` moves
it) in the same format. Under brownie the deployer is ``accounts[0]`` on a development
network; on a live one it comes from ``GPUBARTER_PRIVATE_KEY`` or ``GPUBARTER_KEYSTORE``
(+ ``GPUBARTER_KEYSTORE_PASSWORD``), and the key is never printed. Every way reads the
parameters from the ``deploy`` section of :mod:`gpubarter.settings` (e.g.
``GPUBARTER_FAUCET_AMOUNT_CPT``; the README's settings table lists them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Importable in brownie's environment too: none of these import web3.
from gpubarter.deploy_plan import PLAN, Call  # noqa: E402
from gpubarter.deployment_record import Deployment, save_deployment  # noqa: E402
from gpubarter.errors import ConfigError, GpuBarterError, SigningKeyError  # noqa: E402
from gpubarter.settings import settings  # noqa: E402


def _under_brownie() -> bool:
    brownie = sys.modules.get("brownie")
    return brownie is not None and brownie.network.is_connected()


def _brownie_deployer() -> Any:
    from brownie import accounts, network

    if _network_type() == "development" and len(accounts) > 0:
        return accounts[0]
    # eth-account only (no web3): the same key checks and messages as `gpubarter deploy`.
    from gpubarter.chain.accounts import from_keystore, from_private_key

    chain = settings().chain
    if chain.private_key:
        signer = from_private_key(chain.private_key.get_secret_value(), source="GPUBARTER_PRIVATE_KEY")
    elif chain.keystore:
        password = chain.keystore_password.get_secret_value() if chain.keystore_password else ""
        signer = from_keystore(chain.keystore, password)
    else:
        raise SigningKeyError(f"network {network.show_active()} has no unlocked accounts: set "
                              "GPUBARTER_PRIVATE_KEY, or GPUBARTER_KEYSTORE and "
                              "GPUBARTER_KEYSTORE_PASSWORD")
    return accounts.add(signer.key)


def _network_type() -> str:
    from brownie._config import CONFIG  # type: ignore[import-not-found]

    return str(CONFIG.network_type)


def _deploy_with_brownie() -> Path:
    import brownie  # type: ignore[import-not-found]
    from brownie import network

    params = settings().deploy.params()
    deployer = _brownie_deployer()
    addresses: dict[str, str] = {}
    blocks: dict[str, int] = {}
    for step in PLAN:
        if isinstance(step, Call):
            target = getattr(brownie, step.contract)[-1]
            for args in step.each(deployer.address, addresses, params):
                getattr(target, step.function)(*args, {"from": deployer})
            continue
        container = getattr(brownie, step.contract, None)
        if container is None:
            raise ConfigError(f"brownie has no contract {step.contract}: run `brownie compile`")
        contract = container.deploy(*step.args(deployer.address, addresses, params),
                                    {"from": deployer})
        addresses[step.contract] = contract.address
        blocks[step.contract] = contract.tx.block_number
        print(f"  {step.contract:<20} {contract.address}")
    # a dev chain is the `local` network of networks.toml
    name = "local" if _network_type() == "development" else network.show_active()
    out = save_deployment(Deployment(chain_id=network.chain.id, network=name, deployer=deployer.address,
                                     contracts=addresses, blocks=blocks))
    print(f"wrote {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    if _under_brownie():
        try:
            _deploy_with_brownie()
        except GpuBarterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        return 0
    from cli import main as cli_main

    args = sys.argv[1:] if argv is None else argv
    return cli_main(["deploy", *args])


if __name__ == "__main__":
    sys.exit(main())
