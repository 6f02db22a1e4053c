"""Prometheus metrics: request counts and latency, exposed at ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app
from starlette.types import ASGIApp, Receive, Scope, Send


class RequestMetrics:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("gpubarter_api_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("gpubarter_api_request_duration_seconds", "Request latency in seconds",
                                 ["method", "route"], registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def capture(message: dict) -> None:  # type: ignore[type-arg]
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = route_label(scope)
            self.requests.labels(scope["method"], path, str(status)).inc()
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - t0)


def route_label(scope: Scope) -> str:
    """The route template of a request (``/api/v1/events/{event_id}``), bounded in cardinality."""
    if scope.get("route") is None:
        return "unmatched"
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def metrics_app(registry: CollectorRegistry) -> ASGIApp:
    return make_asgi_app(registry=registry)
