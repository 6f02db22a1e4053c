"""Backend settings from the environment (prefix ``GPUBARTER_API_``) and ``.env``."""

from __future__ import annotations

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
    #: Page size bounds for list endpoints.
    default_page_size: int = 50
    max_page_size: int = 500
    #: The domain sign-in messages must name (EIP-4361); defaults to host:port.
    siwe_domain: str | None = None
    siwe_nonce_ttl_s: int = 600
    session_ttl_s: int = 8 * 3600
