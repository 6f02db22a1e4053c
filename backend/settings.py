"""Backend settings from the environment (prefix ``GPUBARTER_API_``) and ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GPUBARTER_API_", env_file=".env", extra="ignore")

    #: Loopback by default: exposing the API is a deliberate choice.
    host: str = "127.0.0.1"
    port: int = 8000
    #: Origins allowed by CORS; none by default.
    cors_origins: list[str] = []
    #: Largest request body accepted, in bytes (dataset uploads stream separately).
    max_body_bytes: int = 1 << 20
    #: Largest dataset upload (``POST /uploads``, ``POST /appraisals/file``), streamed to disk.
    max_upload_bytes: int = 8 << 30
    #: The vault for uploads: its folder (embedded store, spool, owners' key stores) and,
    #: when set, the IPFS node's API address (else the embedded store is used).
    vault_dir: Path | None = None
    ipfs_api: str | None = None
    ipfs_timeout_s: float = 60.0
    #: Page size bounds for list endpoints.
    default_page_size: int = 50
    max_page_size: int = 500
    #: The domain sign-in messages must name (EIP-4361); defaults to host:port.
    siwe_domain: str | None = None
    siwe_nonce_ttl_s: int = 600
    session_ttl_s: int = 8 * 3600
