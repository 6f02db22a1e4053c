"""Databases for backend tests: SQLite files and a real PostgreSQL server on loopback."""

from __future__ import annotations

import itertools

import httpx
import pytest

from backend.db import make_engine, migrate, session_factory
from backend.service import BackendService
from devservers.postgres import PostgresServer
from gpubarter.process import free_port
from gpubarter.settings import ApiSettings

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    with PostgresServer() as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind (the indexer and API suites run on both); a PostgreSQL
    one is dropped after its test, so the cluster stays small (CI shares the machine's disk)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.sqlite3'}"
        return
    pg, name = request.getfixturevalue("postgres"), f"test_{next(_names)}"
    yield pg.create_database(name)
    pg.drop_database(name)


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def service(w3, deployment, database_url):
    settings = ApiSettings(port=free_port(), max_body_bytes=1024, default_page_size=2)
    with BackendService(w3, deployment, database_url=database_url,
                        settings=settings, poll_seconds=0.05) as svc:
        yield svc


@pytest.fixture
def client(service):
    with httpx.Client(base_url=service.url, timeout=10) as c:
        yield c
