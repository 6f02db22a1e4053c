"""``gpubarter api``: index the chain and serve the REST API."""

from __future__ import annotations

import typer

from cli import app
from cli.commands.output import console
from gpubarter.chain.network import connect, get_network
from gpubarter.deployment_record import load_deployment
from gpubarter.settings import settings as current_settings


@app.command()
def api(
    network: str = typer.Option("local", "--network", "-n", help="A network from networks.toml."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; loopback by default."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535),
    database_url: str | None = typer.Option(None, "--database-url",
                                            help="SQLAlchemy URL (default: GPUBARTER_DATABASE_URL, else "
                                                 "SQLite in the state folder)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="API processes sharing the port: the first also indexes and prunes "
                                     "the order book, the others serve the API only. More than 1 needs "
                                     "PostgreSQL."),
) -> None:
    """Follow the protocol's events into the index and serve /api/v1 (docs at /docs)."""
    from backend.service import BackendService

    net = get_network(network)
    w3 = connect(net.rpc_url(), expect_chain_id=net.chain_id)
    deployment = load_deployment(w3.eth.chain_id)
    settings = current_settings().api.model_copy(update={"host": host, "port": port})
    service = BackendService(w3, deployment, database_url=database_url, settings=settings,
                             confirmations=net.confirmations, workers=workers).start()
    served = f" by {workers} workers" if workers > 1 else ""
    console.print(f"API at {service.url}/api/v1{served} (docs {service.url}/docs); indexing chain "
                  f"{deployment.chain_id} with {net.confirmations} confirmations; Ctrl-C to stop")
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        service.stop()
