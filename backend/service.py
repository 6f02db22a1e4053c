"""Run the backend: the indexer following the chain and the API serving the index.

:class:`BackendService` runs both in background threads of one process, so the
CLI (``gpubarter api``), ``gpubarter up`` and the tests start it the same way.

With ``workers=N`` it scales the API out: this process binds the listening socket and serves it
beside the indexer and the market pruner; N - 1 more processes (``python -m backend.service``)
serve the same socket, the API only, and the kernel hands each new connection to one of them.
Every worker writes (orders, sign-ins), so more than one needs PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from backend.api.app import create_app
from backend.db import database_url as default_database_url
from backend.db import make_engine, migrate, session_factory
from backend.indexer.follower import Follower
from backend.indexer.projections import ResourceProjector
from backend.market.service import Market
from gpubarter.chain.network import connect, log_range_for
from gpubarter.deployment_record import Deployment
from gpubarter.errors import ConfigError
from gpubarter.process import child_setup
from gpubarter.settings import ApiSettings, IpfsSettings, VaultSettings
from gpubarter.settings import settings as current_settings

log = logging.getLogger("gpubarter.backend")

#: Seconds an extra API worker may take to start serving (it imports web3 and the API first).
WORKER_START_S = 60.0
#: Seconds a stopping worker gets to finish its requests before it is killed.
WORKER_STOP_S = 10.0


@dataclass
class BackendService:
    w3: Web3
    deployment: Deployment
    database_url: str | None = None
    settings: ApiSettings = field(default_factory=lambda: current_settings().api)
    vault: VaultSettings | None = None  # the environment's when not given
    ipfs: IpfsSettings | None = None
    confirmations: int = 0
    poll_seconds: float = 0.5
    prune_seconds: float = 5.0  # how often live orders are re-checked for expiry and funding
    workers: int = 1  # API processes on the one listening socket: this one and workers - 1 more

    def __post_init__(self) -> None:
        self._check_workers()
        self.engine: Engine = make_engine(self.database_url)
        migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.market = Market.of(self.w3, self.deployment, self.sessions)
        projectors = (ResourceProjector(), *([self.market.projector] if self.market else []))
        # Each step's eth_getLogs spans at most the network's max_log_range (public RPCs cap it).
        self.follower = Follower(self.w3, self.deployment, self.sessions, confirmations=self.confirmations,
                                 chunk=min(2_000, log_range_for(self.deployment.network)),
                                 projectors=projectors)
        self._stop = threading.Event()
        self.app = api_app(self.w3, self.deployment, self.sessions, self.market, self._stop,
                           settings=self.settings, vault=self.vault, ipfs=self.ipfs,
                           confirmations=self.confirmations)
        self._threads: list[threading.Thread] = []
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._workers: list[subprocess.Popen[bytes]] = []

    def _check_workers(self) -> None:
        """Refuse a worker count this service cannot run, before anything is created."""
        if self.workers < 1:
            raise ConfigError(f"the API needs at least 1 worker, got {self.workers}")
        if self.workers == 1:
            return
        if (self.database_url or default_database_url()).startswith("sqlite"):
            raise ConfigError(f"{self.workers} API workers need PostgreSQL: each worker writes (orders, "
                              "sign-ins) and SQLite takes one writer at a time; set --database-url (or "
                              "GPUBARTER_DATABASE_URL) to a postgresql:// URL, or run 1 worker")
        if not isinstance(getattr(self.w3.provider, "endpoint_uri", None), str):
            raise ConfigError("extra API workers connect to the node by its URL: connect over HTTP(S)")

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self, *, timeout: float = 15.0) -> BackendService:
        """Serve: the extra API workers first (started from this thread: they die with it), then
        the indexer, the pruner and the API in threads of this process. Returns once all serve; the
        first answer on the port comes from a worker that has finished starting."""
        try:
            self._socket = _listen(self.settings.host, self.settings.port)
            self._start_workers()
        except BaseException:
            self.stop()
            raise
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        indexer = threading.Thread(target=self.follower.follow, name="indexer", daemon=True,
                                   kwargs={"poll_seconds": self.poll_seconds, "stop": self._stop.is_set})
        server = threading.Thread(target=self._server.run, name="api", daemon=True,
                                  kwargs={"sockets": [self._socket]})
        self._threads = [indexer, server]
        if self.market:
            self._threads.append(self.market.pruner_thread(self._stop, self.prune_seconds))
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not server.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the API did not start serving {self.settings.host}:{self.settings.port} "
                                  f"within {timeout:.0f} s")
            time.sleep(0.02)
        return self

    def _start_workers(self) -> None:
        if self.workers == 1:
            return
        spec = {"rpc_url": self.w3.provider.endpoint_uri,  # type: ignore[attr-defined]
                "deployment": dataclasses.asdict(self.deployment),
                "database_url": self.database_url or default_database_url(),
                "confirmations": self.confirmations, "api": self.settings.model_dump(mode="json"),
                "vault": self.vault and self.vault.model_dump(mode="json"),
                "ipfs": self.ipfs and self.ipfs.model_dump(mode="json")}
        assert self._socket is not None
        listen_fd = self._socket.fileno()
        ready_fds: list[int] = []  # each worker writes one byte on its pipe once it serves
        try:
            for _ in range(self.workers - 1):
                ready_r, ready_w = os.pipe()
                ready_fds.append(ready_r)
                try:
                    # The spec goes on stdin, not the command line: a database URL may hold a password.
                    worker = subprocess.Popen([sys.executable, "-m", "backend.service", str(listen_fd),
                                               str(ready_w)], stdin=subprocess.PIPE,
                                              pass_fds=(listen_fd, ready_w), preexec_fn=child_setup())
                finally:
                    os.close(ready_w)
                self._workers.append(worker)
                assert worker.stdin is not None
                with worker.stdin:
                    worker.stdin.write(json.dumps(spec).encode())
            deadline = time.monotonic() + WORKER_START_S
            for worker, ready_r in zip(self._workers, ready_fds, strict=True):
                readable, _, _ = select.select([ready_r], [], [], max(0.0, deadline - time.monotonic()))
                if (os.read(ready_r, 1) if readable else b"") != b"1":
                    raise ConfigError(f"an extra API worker (pid {worker.pid}) did not start serving within "
                                      f"{WORKER_START_S:.0f} s (exit status {worker.poll()}); its errors "
                                      "are above")
        finally:
            for fd in ready_fds:
                os.close(fd)

    @property
    def alive(self) -> bool:
        """The indexer, the API thread and every extra API worker are running."""
        return (bool(self._threads) and all(t.is_alive() for t in self._threads)
                and all(w.poll() is None for w in self._workers))

    def serve_forever(self) -> None:
        try:
            while self.alive:
                time.sleep(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            if worker.poll() is None:
                worker.terminate()
        if self._server is not None:
            self._server.should_exit = True
        for t in self._threads:
            t.join(timeout=10)
        deadline = time.monotonic() + WORKER_STOP_S
        for worker in self._workers:
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self._workers = []
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.engine.dispose()

    def __enter__(self) -> BackendService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def api_app(w3: Web3, deployment: Deployment, sessions: sessionmaker[Session], market: Market | None,
            stop: threading.Event, *, settings: ApiSettings, vault: VaultSettings | None,
            ipfs: IpfsSettings | None, confirmations: int) -> FastAPI:
    """The API of one deployment, as every worker serves it."""
    app = create_app(sessions, settings=settings, chain_id=deployment.chain_id,
                     chain_head=lambda: w3.eth.block_number - confirmations, vault=vault, ipfs=ipfs)
    app.state.w3, app.state.deployment = w3, deployment  # role checks
    app.state.market, app.state.stop_event = market, stop
    return app


def _listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound here so that every worker can serve it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"the API could not listen on {host}:{port} ({exc.strerror}; port in use?); "
                          "choose another with --port") from None
    sock.listen(2048)
    return sock


def _serve_extra_worker(listen_fd: int, ready_fd: int) -> None:
    """One extra API worker: the API alone (no indexer, no pruner) on the listening socket it
    inherited, as the spec on stdin says; one byte on ``ready_fd`` once it serves."""
    spec = json.loads(sys.stdin.buffer.read())
    w3 = connect(spec["rpc_url"])
    deployment = Deployment(**spec["deployment"])
    engine = make_engine(spec["database_url"])  # the first worker migrated it
    sessions = session_factory(engine)
    stop = threading.Event()
    app = api_app(w3, deployment, sessions, Market.of(w3, deployment, sessions), stop,
                  settings=ApiSettings.model_validate(spec["api"]),
                  vault=VaultSettings.model_validate(spec["vault"]) if spec["vault"] else None,
                  ipfs=IpfsSettings.model_validate(spec["ipfs"]) if spec["ipfs"] else None,
                  confirmations=spec["confirmations"])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))

    def tell_ready_then_watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        os.write(ready_fd, b"1" if server.started else b"0")
        os.close(ready_fd)
        while not server.should_exit:  # a SIGTERM: end the live streams too
            time.sleep(0.1)
        stop.set()

    threading.Thread(target=tell_ready_then_watch, name="ready", daemon=True).start()
    try:
        server.run(sockets=[socket.socket(fileno=listen_fd)])
    finally:
        engine.dispose()


if __name__ == "__main__":
    _serve_extra_worker(int(sys.argv[1]), int(sys.argv[2]))
