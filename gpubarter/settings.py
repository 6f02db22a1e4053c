"""Every setting of the product, in one model: :func:`settings` reads them from the environment
and an optional ``.env`` file in the working folder.

One section per concern (paths, chain, deploy, database, IPFS, vault, API, oracle, toolchain, bench). Each
setting has exactly one variable, its section's prefix followed by its name in capitals
(``api.port`` is ``GPUBARTER_API_PORT``); :func:`markdown_table` writes the README's table from this
model (``uv run python -m gpubarter.settings``), and a test keeps the two equal.

Secrets have no working defaults: a non-local deploy needs ``GPUBARTER_PRIVATE_KEY`` or
``GPUBARTER_KEYSTORE`` (+ ``GPUBARTER_KEYSTORE_PASSWORD``). A network's RPC URL is the one
setting named elsewhere: ``networks.toml`` names its variable (URLs often carry an API key).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from gpubarter.deploy_plan import DeployParams
from gpubarter.errors import ConfigError

PREFIX = "GPUBARTER_"


def setting(default: Any, doc: str, *, shown: str | None = None) -> Any:
    """A field with the sentence the README shows, and how to show a default computed elsewhere."""
    return Field(default, description=doc, json_schema_extra={"shown": shown} if shown else None)


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=".env", extra="ignore")


class PathSettings(BaseSettings):
    """Where the project keeps its files."""

    model_config = _config(PREFIX)

    root: Path | None = setting(None, "the project folder (holding pyproject.toml and package.json)",
                                shown="found from the installed code")
    build_dir: Path | None = setting(None, "compiled contract artifacts", shown="`<root>/build`")
    state_dir: Path | None = setting(None, "runtime state: the local node, the index, the vault, agents",
                                     shown="`<root>/.gpubarter`")
    deployments_dir: Path | None = setting(None, "deployment files, one per chain id",
                                           shown="`<root>/deployments`")


class ChainSettings(BaseSettings):
    """The chain: how to reach the local one and how to sign."""

    model_config = _config(PREFIX)

    local_rpc_url: str | None = setting(None, "the `local` network's RPC URL",
                                        shown="the chain `gpubarter node` runs")
    private_key: SecretStr | None = setting(None, "hex private key to sign with (never printed)")
    keystore: Path | None = setting(None, "or an encrypted JSON keystore to sign with")
    keystore_password: SecretStr | None = setting(None, "the keystore's password")


_PLAN = DeployParams()


class DeploySettings(BaseSettings):
    """What a deploy sets up (``gpubarter deploy``, and ``scripts/deploy.py`` under brownie)."""

    model_config = _config(PREFIX)

    initial_supply_cpt: int = setting(_PLAN.initial_supply_cpt, "CPT minted to the deployer, whole tokens")
    faucet_amount_cpt: int = setting(_PLAN.faucet_amount_cpt, "CPT per faucet call (dev and test chains), "
                                     "whole tokens")
    faucet_cooldown_s: int = setting(_PLAN.faucet_cooldown_s, "seconds between faucet calls per address")
    unbonding_period_s: int = setting(_PLAN.unbonding_period_s, "seconds between a provider's unstake "
                                      "request and its withdrawal")
    credits_base_uri: str = setting(_PLAN.credits_base_uri, "credit metadata: `uri(id)` is this and the "
                                    "series id")
    settlement_grace_s: int = setting(_PLAN.settlement_grace_s, "seconds late metered usage may still "
                                      "settle after a job ends (at least the challenge period)")
    escrow_min_bond_cpt: int = setting(_PLAN.escrow_min_bond_cpt, "smallest bond of a barter offer, CPT")
    escrow_dispute_bond_cpt: int = setting(_PLAN.escrow_dispute_bond_cpt, "a provider's dispute bond, CPT")
    exchange_fee_bps: int = setting(_PLAN.exchange_fee_bps, "the exchange's fee, basis points (at most 100)")
    exchange_treasury: str = setting(_PLAN.exchange_treasury, "who receives the exchange's fees",
                                     shown="the deployer")
    metering_challenge_period_s: int = setting(_PLAN.metering_challenge_period_s, "seconds metered usage "
                                               "stays challengeable before it applies")
    metering_threshold: int = setting(_PLAN.metering_threshold, "meter signatures a usage report needs")

    def params(self) -> DeployParams:
        """The deploy plan's parameters with these values (the GPU classes stay the plan's)."""
        return replace(_PLAN, **self.model_dump())


class DatabaseSettings(BaseSettings):
    """The backend's index."""

    model_config = _config(f"{PREFIX}DATABASE_")

    url: str | None = setting(None, "the index database (`postgresql://…` or `sqlite:///…`)",
                              shown="SQLite at `<state dir>/index.sqlite3`")


class IpfsSettings(BaseSettings):
    """The IPFS node the vault stores sealed shards on."""

    model_config = _config(f"{PREFIX}IPFS_")

    api: str | None = setting(None, "an IPFS (Kubo) RPC API, e.g. `http://127.0.0.1:5001`",
                              shown="none: the embedded store under the vault folder")
    timeout_s: float = setting(60.0, "seconds before a silent IPFS node is given up on")


class VaultSettings(BaseSettings):
    """The dataset vault: its folder (embedded store, spool, the server's key stores) and keys."""

    model_config = _config(f"{PREFIX}VAULT_")

    dir: Path | None = setting(None, "the vault's folder", shown="`<state dir>/vault`")
    keys: Path | None = setting(None, "the dataset owner's key store (CLI)", shown="`<vault dir>/keys`")


class ApiSettings(BaseSettings):
    """The REST API (``gpubarter api``)."""

    model_config = _config(f"{PREFIX}API_")

    host: str = setting("127.0.0.1", "address to listen on (loopback: exposing it is a deliberate choice)")
    port: int = setting(8000, "port to listen on")
    cors_origins: list[str] = setting([], "origins allowed by CORS, a JSON list", shown="none")
    max_body_bytes: int = setting(1 << 20, "largest request body, bytes (uploads stream separately)")
    max_upload_bytes: int = setting(8 << 30, "largest dataset upload, bytes (streamed to disk)")
    default_page_size: int = setting(50, "items per page of a list when the request does not say")
    max_page_size: int = setting(500, "most items per page of a list")
    siwe_domain: str | None = setting(None, "the domain sign-in messages must name (EIP-4361)",
                                      shown="`host:port`")
    siwe_nonce_ttl_s: int = setting(600, "seconds a sign-in nonce stays valid")
    session_ttl_s: int = setting(8 * 3600, "seconds a signed-in session lasts")


class OracleSettings(BaseSettings):
    """The metering oracle."""

    model_config = _config(f"{PREFIX}ORACLE_")

    fault: str | None = setting(None, "tests only: a fault point where the daemon kills itself "
                                "(`oracle/faults.py`)", shown="none")


class ToolchainSettings(BaseSettings):
    """Where the project's own tool environments live."""

    model_config = _config(PREFIX)

    slither_dir: Path | None = setting(None, "slither's virtual environment",
                                       shown="`<state dir>/slither-<version>`")
    brownie_dir: Path | None = setting(None, "brownie's virtual environment",
                                       shown="`<state dir>/brownie-<version>`")


class BenchSettings(BaseSettings):
    """Benchmarks (``gpubarter bench``)."""

    model_config = _config(f"{PREFIX}BENCH_")

    oracle_s: float = setting(40.0, "seconds `gpubarter bench oracle` watches the daemon's CPU and memory")


class Settings(BaseModel):
    paths: PathSettings = Field(default_factory=PathSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ipfs: IpfsSettings = Field(default_factory=IpfsSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    oracle: OracleSettings = Field(default_factory=OracleSettings)
    toolchain: ToolchainSettings = Field(default_factory=ToolchainSettings)
    bench: BenchSettings = Field(default_factory=BenchSettings)


_lock = threading.Lock()
_cached: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def settings() -> Settings:
    """The settings as the environment now says: read again whenever a ``GPUBARTER_`` variable
    changed since the last call (tests and child processes change them), else the same object."""
    global _cached
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        _cached = (key, _read())
        return _cached[1]


def _read() -> Settings:
    """Each section from the environment; a value that does not fit is a :class:`ConfigError`
    naming its variable (and, unless it is a secret, the value)."""
    sections = {}
    for name, section in Settings.model_fields.items():
        model: type[BaseSettings] = section.annotation  # type: ignore[assignment]
        prefix = model.model_config.get("env_prefix", "")
        try:
            sections[name] = model()
        except SettingsError as exc:  # a list or a dict that is not JSON
            found = re.search(r'field "(\w+)"', str(exc))
            raise ConfigError(f"{prefix}{found[1] if found else ''}".upper()
                              + ' is not valid: it must be JSON, e.g. ["https://app.example"]') from None
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else ""
            known = model.model_fields.get(field)
            secret = known is None or "SecretStr" in str(known.annotation)
            variable = f"{prefix}{field}".upper()
            shown = variable if secret else f"{variable}={error['input']!r}"
            raise ConfigError(f"{shown} is not valid: {error['msg'].lower()}") from None
    return Settings(**sections)


def network_rpc_url(variable: str) -> str:
    """A network's RPC URL, from the variable ``networks.toml`` names for it ('' when unset)."""
    return os.environ.get(variable, "").strip()


def variables() -> list[tuple[str, str, str]]:
    """Every setting as (variable, default as the README shows it, what it sets), section by section."""
    rows = []
    for section in Settings.model_fields.values():
        model: type[BaseSettings] = section.annotation  # type: ignore[assignment]
        prefix = model.model_config.get("env_prefix", "")
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            shown = extra.get("shown") or ("unset" if field.default is None else f"`{field.default}`")
            rows.append((f"{prefix}{name}".upper(), str(shown), field.description or ""))
    return rows


def markdown_table() -> str:
    lines = ["| variable | default | what it sets |", "|---|---|---|"]
    lines += [f"| `{var}` | {default} | {doc} |" for var, default, doc in variables()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
