"""HTTP client of the backend's order relay and market data (``/api/v1/orders``, book, index)."""

from __future__ import annotations

from typing import Any

import httpx

from gpubarter.errors import GpuBarterError


class RelayError(GpuBarterError):
    """The relay refused a request (``code`` is its problem code) or could not be reached."""

    def __init__(self, message: str, code: str = "unreachable") -> None:
        super().__init__(message)
        self.code = code


class RelayClient:
    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        url = f"{self.base_url}/api/v1{path}"
        try:
            r = httpx.request(method, url, timeout=self.timeout, **kw)
        except httpx.HTTPError as exc:
            raise RelayError(f"cannot reach the relay at {self.base_url}: {exc}") from None
        if r.status_code >= 400:
            try:
                problem = r.json()
                code, detail = str(problem["code"]), str(problem.get("detail", ""))
            except (ValueError, KeyError, TypeError):
                code, detail = "http-error", r.text[:200]
            raise RelayError(f"the relay refused ({r.status_code} {code}): {detail}", code)
        return r.json()

    def post_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/orders", json=payload)

    def order(self, order_hash: str) -> dict[str, Any]:
        return self._call("GET", f"/orders/{order_hash}")

    def book(self, series_id: int, depth: int = 20) -> dict[str, Any]:
        return self._call("GET", f"/series/{series_id}/book", params={"depth": depth})

    def index(self, class_id: int, month: str, interval: int = 3_600) -> dict[str, Any]:
        params = {"class_id": class_id, "month": month, "interval": interval}
        return self._call("GET", "/index", params=params)
