"""The whole backend (API, indexer, market pruner) of one deployment, for ``gpubarter bench exchange``.

``python -m cli.bench._relay_server RPC_URL DEPLOYMENTS_DIR DATABASE_URL WORKERS PORT`` serves on
127.0.0.1:PORT as ``gpubarter api --workers WORKERS`` does, in its own processes: the traders posting
orders are other processes, so the bench's clients do not share the server's interpreter (and its
GIL)."""

from __future__ import annotations

import sys
from pathlib import Path

from backend.service import BackendService
from gpubarter.chain.network import connect
from gpubarter.deployment_record import load_deployment
from gpubarter.settings import ApiSettings


def main(argv: list[str]) -> None:
    rpc_url, directory, database_url = argv[0], Path(argv[1]), argv[2]
    workers, port = int(argv[3]), int(argv[4])
    w3 = connect(rpc_url)
    deployment = load_deployment(w3.eth.chain_id, directory)
    BackendService(w3, deployment, database_url=database_url, settings=ApiSettings(port=port),
                   workers=workers).start().serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
