"""The dev stack's backend indexes into the database it is given (`gpubarter up --database-url`)."""

from __future__ import annotations

from pathlib import Path

import httpx
from waiting import wait_for

from cli.stack import DevStack


def test_the_stack_indexes_into_the_given_database(database_url: str, tmp_path: Path) -> None:
    with DevStack(workdir=tmp_path / "stack", ipfs=False, oracle=False, database_url=database_url) as stack:
        def ready() -> dict | None:
            resp = httpx.get(f"{stack.api_url}/api/v1/ready", timeout=5)
            return resp.json() if resp.status_code == 200 else None
        doc = wait_for("the index to reach the chain's head", ready, timeout=60, interval=0.2)
        assert doc["database"] == "ok" and doc["indexed_block"] >= stack.deployment.start_block
        assert stack.backend is not None and str(stack.backend.engine.url).split(":")[0] in database_url
    # only the given database was used: no default SQLite index in the work dir
    assert not list((tmp_path / "stack").glob("index.sqlite*"))
