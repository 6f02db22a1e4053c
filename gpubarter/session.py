"""A connection to a named network with a signer: what every chain command starts from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from gpubarter.chain import accounts
from gpubarter.chain.network import Network, connect, get_network
from gpubarter.chain.tx import Sender
from gpubarter.deployment_record import Deployment, load_deployment
from gpubarter.errors import SigningKeyError
from gpubarter.settings import settings


def resolve_signer(network: Network, *, dev_index: int = 0) -> LocalAccount:
    """The key to sign with: env key, then keystore, then (dev chains only) anvil's."""
    chain = settings().chain
    if chain.private_key is not None:
        return accounts.from_private_key(chain.private_key.get_secret_value(),
                                         source="GPUBARTER_PRIVATE_KEY")
    if chain.keystore is not None:
        if chain.keystore_password is None:
            raise SigningKeyError("GPUBARTER_KEYSTORE is set but GPUBARTER_KEYSTORE_PASSWORD is not")
        return accounts.from_keystore(chain.keystore, chain.keystore_password.get_secret_value())
    if network.dev:
        return accounts.dev_account(dev_index)
    raise SigningKeyError(
        f"network {network.name!r} needs a signing key: set GPUBARTER_PRIVATE_KEY, or "
        "GPUBARTER_KEYSTORE and GPUBARTER_KEYSTORE_PASSWORD")


@dataclass
class ChainSession:
    network: Network
    w3: Web3
    sender: Sender

    @classmethod
    def open(cls, network_name: str, *, rpc_url: str | None = None,
             account: LocalAccount | None = None) -> ChainSession:
        network = get_network(network_name)
        signer = account or resolve_signer(network)  # a bad key fails before any network I/O
        w3 = connect(rpc_url or network.rpc_url(), expect_chain_id=network.chain_id)
        return cls(network, w3, Sender(w3, signer, confirmations=network.confirmations))

    @cached_property
    def deployment(self) -> Deployment:
        return load_deployment(self.sender.chain_id)

    def contract(self, name: str) -> Contract:
        return self.deployment.contract(self.w3, name)
