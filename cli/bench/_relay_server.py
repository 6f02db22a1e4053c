"""The whole backend (API, indexer, market pruner) of one deployment, for ``gpubarter bench exchange``.

``python -m cli.bench._relay_server RPC_URL DEPLOYMENTS_DIR DATABASE_URL PORT`` serves on
127.0.0.1:PORT as ``gpubarter api`` does, in its own process: the traders posting orders are other
processes, so the bench's clients do not share the server's interpreter (and its GIL)."""

from __future__ import annotations

import sys
from pathlib import Path

from backend.service import BackendService
from backend.settings import ApiSettings
from gpubarter.chain.network import connect
from gpubarter.deployments import load_deployment


def main(argv: list[str]) -> None:
    rpc_url, directory, database_url, port = argv[0], Path(argv[1]), argv[2], int(argv[3])
    w3 = connect(rpc_url)
    deployment = load_deployment(w3.eth.chain_id, directory)
    BackendService(w3, deployment, database_url=database_url, settings=ApiSettings(port=port)).start() \
        .serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
