"""Run the backend: the indexer following the chain and the API serving the index.

:class:`BackendService` runs both in background threads of one process, so the
CLI (``gpubarter api``), ``gpubarter up`` and the tests start it the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from sqlalchemy import Engine
from web3 import Web3

from backend.api.app import create_app
from backend.db import make_engine, migrate, session_factory
from backend.indexer.follower import Follower
from backend.indexer.projections import ResourceProjector
from backend.market.service import Market
from backend.settings import ApiSettings
from gpubarter.chain.network import log_range_for
from gpubarter.deployments import Deployment
from gpubarter.errors import ConfigError

log = logging.getLogger("gpubarter.backend")


@dataclass
class BackendService:
    w3: Web3
    deployment: Deployment
    database_url: str | None = None
    settings: ApiSettings = field(default_factory=ApiSettings)
    confirmations: int = 0
    poll_seconds: float = 0.5
    prune_seconds: float = 5.0  # how often live orders are re-checked for expiry and funding

    def __post_init__(self) -> None:
        self.engine: Engine = make_engine(self.database_url)
        migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.market = Market.of(self.w3, self.deployment, self.sessions)
        projectors = (ResourceProjector(), *([self.market.projector] if self.market else []))
        # Each step's eth_getLogs spans at most the network's max_log_range (public RPCs cap it).
        self.follower = Follower(self.w3, self.deployment, self.sessions, confirmations=self.confirmations,
                                 chunk=min(2_000, log_range_for(self.deployment.network)),
                                 projectors=projectors)
        self.app = create_app(self.sessions, settings=self.settings, chain_id=self.deployment.chain_id,
                              chain_head=lambda: self.w3.eth.block_number - self.confirmations)
        self.app.state.w3, self.app.state.deployment = self.w3, self.deployment  # role checks
        self._stop = threading.Event()
        self.app.state.market, self.app.state.stop_event = self.market, self._stop
        self._threads: list[threading.Thread] = []
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self, *, timeout: float = 15.0) -> BackendService:
        config = uvicorn.Config(self.app, host=self.settings.host, port=self.settings.port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        indexer = threading.Thread(target=self.follower.follow, name="indexer", daemon=True,
                                   kwargs={"poll_seconds": self.poll_seconds, "stop": self._stop.is_set})
        server = threading.Thread(target=self._server.run, name="api", daemon=True)
        self._threads = [indexer, server]
        if self.market:
            self._threads.append(self.market.pruner_thread(self._stop, self.prune_seconds))
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not server.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the API could not listen on {self.settings.host}:{self.settings.port} "
                                  "(port in use?); choose another with --port")
            time.sleep(0.02)
        return self

    @property
    def alive(self) -> bool:
        """Both the indexer and the API thread are running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def serve_forever(self) -> None:
        try:
            while all(t.is_alive() for t in self._threads):
                time.sleep(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        for t in self._threads:
            t.join(timeout=10)
        self.engine.dispose()

    def __enter__(self) -> BackendService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
