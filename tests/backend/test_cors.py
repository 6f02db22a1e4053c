"""CORS through HTTP against the live service: only the configured origins get the headers,
on simple and on preflight requests; by default no origin does."""

from __future__ import annotations

import httpx
import pytest

from backend.service import BackendService
from gpubarter.process import free_port
from gpubarter.settings import ApiSettings

ALLOWED = "https://app.gpubarter.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


@pytest.fixture(params=[[ALLOWED], []], ids=["configured", "default"])
def cors_client(request, w3, deployment, database_url):
    settings = ApiSettings(port=free_port(), cors_origins=request.param)
    with BackendService(w3, deployment, database_url=database_url, settings=settings) as svc, \
            httpx.Client(base_url=svc.url, timeout=10) as client:
        yield client, bool(request.param)


def test_default_settings_allow_no_origin():
    assert ApiSettings(_env_file=None).cors_origins == []


def test_allowed_origin_gets_headers_on_simple_and_preflight_requests(cors_client):
    client, configured = cors_client
    simple = client.get("/api/v1/health", headers={"Origin": ALLOWED})
    assert simple.status_code == 200
    pre = client.options("/api/v1/uploads", headers={"Origin": ALLOWED, **PREFLIGHT})
    if configured:
        assert simple.headers["access-control-allow-origin"] == ALLOWED
        assert simple.headers["access-control-allow-credentials"] == "true"
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    else:  # the default allows no origin at all
        assert "access-control-allow-origin" not in simple.headers
        assert "access-control-allow-origin" not in pre.headers
        assert pre.status_code == 405


@pytest.mark.parametrize("origin", ["https://evil.example", "http://app.gpubarter.example", "null"])
def test_other_origins_get_no_cors_headers(cors_client, origin):
    client, _ = cors_client
    simple = client.get("/api/v1/health", headers={"Origin": origin})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    pre = client.options("/api/v1/uploads", headers={"Origin": origin, **PREFLIGHT})
    assert pre.status_code in (400, 405) and "access-control-allow-origin" not in pre.headers
