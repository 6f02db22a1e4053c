"""Databases for backend tests: SQLite files and a real PostgreSQL server on loopback."""

from __future__ import annotations

import itertools

import pytest

from backend.db import make_engine, migrate, session_factory
from backend.db.pgserver import PostgresServer

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    with PostgresServer() as pg:
        yield pg


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind (the indexer and API suites run on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite3'}"
    return request.getfixturevalue("postgres").create_database(f"test_{next(_names)}")


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
