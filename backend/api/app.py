"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from backend.api import appraisals, auth, events, health, market, problems, resources, uploads
from backend.api.limits import BodySizeLimit
from backend.api.metrics import RequestMetrics, metrics_app
from gpubarter.settings import ApiSettings, IpfsSettings, VaultSettings
from gpubarter.settings import settings as current_settings

API_PREFIX = "/api/v1"


def create_app(sessions: sessionmaker[Session], *, settings: ApiSettings | None = None, chain_id: int = 0,
               chain_head: Callable[[], int] | None = None, max_ready_lag: int = 5,
               vault: VaultSettings | None = None, ipfs: IpfsSettings | None = None) -> FastAPI:
    """The API on ``sessions``; the settings not given are the environment's."""
    configured = current_settings()
    settings = settings or configured.api
    app = FastAPI(title="GPU Barter API", version="1", docs_url="/docs", redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Providers, credit series, jobs, usage, datasets, cooperatives, deals "
                              "and the order book of GPU Barter, read from the chain index.")
    app.state.sessions = sessions
    # Work that is one statement needs no transaction (on PostgreSQL a BEGIN and a COMMIT or ROLLBACK
    # round trip fewer per request): the resource lists' reads and the relay's insert. Same pool as
    # ``sessions``.
    app.state.autocommit = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
    app.state.settings = settings
    app.state.vault_settings = (vault or configured.vault, ipfs or configured.ipfs)
    app.state.chain_head = chain_head
    app.state.max_ready_lag = max_ready_lag
    app.state.chain_id = chain_id
    app.state.siwe_domain = settings.siwe_domain or f"{settings.host}:{settings.port}"
    problems.install(app)

    # Routes match in the order included, each request testing every route before its own (twice, in
    # FastAPI's router): the busiest first, the relay's POST /orders (one route) and the resource
    # lists. No path matches two routes.
    others = (health, auth, events, market, uploads, appraisals)
    for router in (market.relay_router, *resources.ROUTERS, *(m.router for m in others)):
        app.include_router(router, prefix=API_PREFIX)

    registry = CollectorRegistry()
    app.mount("/metrics", metrics_app(registry))
    app.add_middleware(RequestMetrics, registry=registry)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       streamed=(f"{API_PREFIX}/uploads", f"{API_PREFIX}/appraisals/file"))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["*"],
                           allow_credentials=True)
    return app
