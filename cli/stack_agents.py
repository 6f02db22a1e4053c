"""The dev stack's key agents: a dev cooperative's key agent and the dev provider's agent.

On a fresh deployment dev account 1 creates the cooperative "Dev Co-op" (it is its admin and
key agent); its address is kept in the work dir so a reloaded stack finds it again. Both agents
run as supervised children (``gpubarter agent coop|provider``), each signing with its own dev
account's key, given in its environment only (never printed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.supervisor import ChildSpec, child_env
from gpubarter.chain.accounts import dev_account
from gpubarter.jsonfile import read_json
from gpubarter.protocol.barter import BarterClient

if TYPE_CHECKING:
    from cli.stack import DevStack

COOP_ADMIN = 1  # dev account: the dev cooperative's admin and key agent
PROVIDER = 2  # dev account: the provider whose agent runs
COOP_NAME = "Dev Co-op"


def coop_keys_dir(stack: DevStack) -> Path:
    """The dev cooperative's vault key store: seal its datasets with ``GPUBARTER_VAULT_KEYS`` here."""
    return stack.workdir / "keys" / "dev-coop"


def dev_cooperative(stack: DevStack) -> str:
    """The dev cooperative's address, created by dev account :data:`COOP_ADMIN` on a fresh deployment."""
    path = stack.workdir / "dev-cooperative.json"
    if not stack.redeployed and path.exists():
        return str(read_json(path, what="the dev cooperative file")["address"])
    client = BarterClient(stack.sender(COOP_ADMIN), stack.deployment)
    address = client.create_cooperative(COOP_NAME).value
    path.write_text(json.dumps({"name": COOP_NAME, "address": address}) + "\n")
    return address


def agent_specs(stack: DevStack, coop: str) -> list[ChildSpec]:
    """The two agents' child specs (commands, environments, folders in the work dir)."""
    def env(account: int) -> dict[str, str]:
        key = "0x" + bytes(dev_account(account).key).hex()
        return child_env(GPUBARTER_LOCAL_RPC_URL=stack.chain_url,
                         GPUBARTER_DEPLOYMENTS_DIR=str(stack.deployments_dir),
                         GPUBARTER_STATE_DIR=str(stack.workdir / "state"),
                         GPUBARTER_PRIVATE_KEY=key)

    agent = (sys.executable, "-m", "cli", "agent")
    # no IPFS node: the agent's embedded store is the stack's (<state dir>/vault/store)
    store = ("--ipfs-api", stack.ipfs_api_url) if stack.ipfs_api_url else ()
    coop_cmd = (*agent, "coop", coop, "--keys", str(coop_keys_dir(stack)), "--network", "local",
                "--state-dir", str(stack.workdir / "agents" / "coop"))
    provider_cmd = (*agent, "provider", "--key-dir", str(stack.workdir / "deal-keys"), *store,
                    "--out", str(stack.workdir / "shards"), "--network", "local",
                    "--state-dir", str(stack.workdir / "agents" / "provider"))
    return [ChildSpec("coop-agent", coop_cmd, env=env(COOP_ADMIN), cwd=stack.workdir),
            ChildSpec("provider-agent", provider_cmd, env=env(PROVIDER), cwd=stack.workdir)]
