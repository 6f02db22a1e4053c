"""The REST API through HTTP against a live service (indexer + uvicorn on loopback)."""

from __future__ import annotations

import pytest
from waiting import wait_for

from gpubarter.settings import ApiSettings

WAD = 10**18


def test_health_and_readiness(client, w3):
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    ready = wait_for("readiness", lambda: (r := client.get("/api/v1/ready")).status_code == 200 and r.json())
    assert ready["database"] == "ok" and ready["chain_head"] == w3.eth.block_number


def test_events_follow_the_chain_with_filters_and_cursor_pages(client, deployment, accounts, w3):
    token = deployment.contract(w3, "ComputeToken")
    for i in (1, 2, 3):
        accounts[i].transact(token.functions.faucet())
    wait_for("three drips indexed", lambda: len(client.get("/api/v1/events", params={"name": "FaucetDripped",
                                                                 "limit": 10}).json()["items"]) == 3)
    seen, cursor = [], None
    while True:
        params = {"name": "FaucetDripped", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/events", params=params).json()
        assert len(page["items"]) <= 2  # default page size in this service
        seen += [e["args"]["account"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [accounts[i].address for i in (1, 2, 3)]
    one = client.get("/api/v1/events", params={"name": "FaucetDripped", "limit": 1}).json()["items"][0]
    assert client.get(f"/api/v1/events/{one['id']}").json() == one


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/events?cursor=not-a-cursor", 400, "invalid-cursor"),
    ("/api/v1/events?limit=0", 422, "invalid-request"),
    ("/api/v1/events?from_block=-1", 422, "invalid-request"),
    ("/api/v1/events?to_block=99999999999999999999", 422, "invalid-request"),
    ("/api/v1/events?tx_hash=0x12", 422, "invalid-request"),
    ("/api/v1/events?name=Drop%20table", 422, "invalid-request"),
    ("/api/v1/events/999999", 404, "not-found"),
    ("/api/v1/events/0", 422, "invalid-request"),
    ("/api/v1/events/99999999999999999999999", 422, "invalid-request"),
    ("/api/v1/nothing-here", 404, "not-found"),
])
def test_bad_requests_get_problem_json(client, path, status, code):
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code and "Traceback" not in r.text


def test_oversized_body_is_refused(client):
    r = client.post("/api/v1/events", content=b"x" * 4096)
    assert r.status_code == 413 and r.json()["code"] == "request-too-large"


def test_metrics_and_openapi(client):
    client.get("/api/v1/health")
    metrics = client.get("/metrics/").text
    assert 'gpubarter_api_requests_total{method="GET",route="/api/v1/health",status="200"}' in metrics
    spec = client.get("/openapi.json").json()
    assert "/api/v1/events" in spec["paths"] and client.get("/docs").status_code == 200


def test_binds_to_loopback_by_default():
    assert ApiSettings().host == "127.0.0.1"
