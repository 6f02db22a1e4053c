"""Alembic environment: runs on the connection handed over by ``backend.db.migrate``
(or on ``GPUBARTER_DATABASE_URL`` when run through the alembic command line)."""

from __future__ import annotations

from alembic import context

from backend.db.engine import make_engine
from backend.db.models import Base

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        with make_engine().connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


run()
