"""Helpers for tests of the resource API: walk cursor pages, wait for the indexer to show something.

Not a test module."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from waiting import wait_for


def all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list endpoint, following ``next_cursor`` (asserts pages respect the size)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= (params.get("limit") or 2)  # the test service's default page size
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def shown(client: httpx.Client, path: str, check: Callable[[list[dict[str, Any]]], bool],
          **params: Any) -> list[dict[str, Any]]:
    """Wait until the items of ``path`` satisfy ``check`` (the indexer follows the chain); return them."""
    box: list[list[dict[str, Any]]] = []

    def ready() -> bool:
        box[:] = [all_pages(client, path, **params)]
        return check(box[0])

    wait_for(path, ready)
    return box[0]


def problem(client: httpx.Client, path: str, status: int, code: str) -> None:
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
