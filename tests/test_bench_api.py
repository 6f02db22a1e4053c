"""The pieces of ``gpubarter bench api`` on a small seeded index: the API server process, the
open-loop load generator process and its statistics (the numbers themselves come from the bench)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cli.bench import api
from cli.bench._load import _get, percentile


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0 and percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0 and percentile([], 0.5) is None


@pytest.mark.slow  # two child processes that import the whole backend (~10 s, more on a busy machine)
def test_seeded_index_served_and_driven_open_loop(tmp_path):
    url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    api.seed(url, series=300, usage=1_000, jobs=100)
    paths = {"series?class_id": "/api/v1/series?class_id=2&limit=50", "usage?job": "/api/v1/usage?job=7"}
    with api.api_server(url) as server:
        api.check_answers(server.port, paths)
        page = httpx.get(f"http://127.0.0.1:{server.port}{paths['series?class_id']}").json()
        assert len(page["items"]) == 50 and {s["class_id"] for s in page["items"]} == {2}
        result = api.load(server.port, 40, 1, [*paths.values(), "/api/v1/series/999999"])
    answered = result["paths"]
    assert answered[paths["usage?job"]]["n"] > 0 and answered[paths["usage?job"]]["errors"] == 0
    assert answered[paths["series?class_id"]]["p99_ms"] >= answered[paths["series?class_id"]]["p50_ms"] > 0
    missing = answered["/api/v1/series/999999"]  # every third request: a 404 is an error, never an answer
    assert (missing["n"], missing["errors"]) == (0, 13)
    assert api.passes(result, 40) is False  # errors fail a step of the rate search


def test_request_on_a_keep_alive_connection_the_server_closed_is_sent_again():
    """A server closes idle keep-alive connections; a pooled one it closed is no server error."""
    connections = []

    async def serve_one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()  # as after its keep-alive timeout

    async def scenario() -> list[int]:
        server = await asyncio.start_server(serve_one_then_close, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool: list = []
        try:
            first = await _get(pool, port, "/a")
            await asyncio.sleep(0.05)  # the server has closed the pooled connection
            second = await _get(pool, port, "/b")
        finally:
            for _r, w in pool:
                w.close()
            server.close()
        return [first, second]

    assert asyncio.run(scenario()) == [200, 200]
    assert len(connections) == 2  # the second request went out again on a new connection


def test_a_connection_closed_before_any_answer_is_an_error_when_new():
    async def close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
        try:
            await _get([], server.sockets[0].getsockname()[1], "/a")
        finally:
            server.close()

    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        asyncio.run(scenario())
