"""The pieces of ``gpubarter bench api`` on a small seeded index: the API server process, the
open-loop load generator process and its statistics (the numbers themselves come from the bench)."""

from __future__ import annotations

import httpx
import pytest

from gpubarter.bench import api
from gpubarter.bench._load import percentile


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
