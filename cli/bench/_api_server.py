"""The API alone (no indexer) over an existing index database, for ``gpubarter bench api``.

``python -m cli.bench._api_server DATABASE_URL PORT`` serves on 127.0.0.1:PORT with
uvicorn (one worker), as ``gpubarter api`` does."""

from __future__ import annotations

import sys

import uvicorn

from backend.api.app import create_app
from backend.db import make_engine, session_factory
from gpubarter.settings import ApiSettings


def main(argv: list[str]) -> None:
    url, port = argv[0], int(argv[1])
    sessions = session_factory(make_engine(url))
    app = create_app(sessions, settings=ApiSettings(port=port))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main(sys.argv[1:])
