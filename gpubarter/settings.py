"""Settings from the environment (prefix ``GPUBARTER_``) and an optional ``.env``.

Secrets have no working defaults: a non-local deploy needs ``GPUBARTER_PRIVATE_KEY``
or ``GPUBARTER_KEYSTORE`` (+ ``GPUBARTER_KEYSTORE_PASSWORD``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GPUBARTER_", env_file=".env", extra="ignore")

    private_key: SecretStr | None = None
    keystore: Path | None = None
    keystore_password: SecretStr | None = None

    #: CPT minted to the deployer on a dev chain, in whole tokens.
    initial_supply_cpt: int = 1_000_000
    #: CPT per faucet call, in whole tokens, and seconds between calls per address.
    faucet_amount_cpt: int = 1_000
    faucet_cooldown_s: int = 86_400

    #: The IPFS node's RPC API (Kubo), e.g. http://127.0.0.1:5001. Unset: the embedded
    #: content-addressed store under the state dir. Seconds before a silent node is given up on.
    ipfs_api: str | None = None
    ipfs_timeout_s: float = 60.0
    #: Folder of the dataset vault's key store (default: <state dir>/vault/keys).
    vault_keys: Path | None = None


@cache
def get_settings() -> Settings:
    return Settings()
