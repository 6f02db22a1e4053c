"""The backend's index database: SQLite by default, PostgreSQL through ``GPUBARTER_DATABASE_URL``."""

from backend.db.engine import database_url, make_engine, migrate, session_factory

__all__ = ["database_url", "make_engine", "migrate", "session_factory"]
