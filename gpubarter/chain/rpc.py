"""JSON-RPC batches for hot paths (the order relay and its pruner): ``batch_caller(w3)``.

For a node on this machine the batch goes over one keep-alive ``http.client`` connection per
thread, the body built by hand: web3's provider spends about 1 ms of CPU per request in
``requests`` and ``urllib3`` before a byte moves, more than the node takes to answer. A remote
node (proxies, TLS, API keys in the URL) keeps web3's provider.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from web3 import Web3

from gpubarter.chain.network import LOOPBACK_HOSTS
from gpubarter.errors import ChainError

#: ``(method, params)`` pairs in; one JSON-RPC response object per call out, in the same order.
BatchCaller = Callable[[Sequence[tuple[str, list[Any]]]], list[dict[str, Any]]]

_RETRYABLE = (http.client.RemoteDisconnected, http.client.CannotSendRequest, ConnectionResetError,
              BrokenPipeError)


class LoopbackRpc:
    """Batches to a loopback node over one keep-alive connection per thread."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname or "127.0.0.1", parts.port, timeout
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.https = parts.scheme == "https"
        self._local = threading.local()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._local.conn = cls(self.host, self.port, timeout=self.timeout)
        return conn

    def _post(self, body: bytes) -> bytes:
        for attempt in (0, 1):  # a keep-alive connection the node closed: reconnect once
            conn = self._connection(fresh=attempt == 1)
            try:
                conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
            except _RETRYABLE:
                if attempt:
                    raise
                continue
            if resp.status != 200:
                raise ChainError(f"the node answered HTTP {resp.status} to a batch of calls")
            return data
        raise AssertionError("unreachable")

    def __call__(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)], separators=(",", ":")).encode()
        try:
            answer = json.loads(self._post(body))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._connection(fresh=True)
            raise ChainError(f"the node at {self.host}:{self.port} did not answer a batch of calls "
                             f"({type(exc).__name__})") from None
        return _in_order(answer, len(calls))


def _in_order(answer: Any, count: int) -> list[dict[str, Any]]:
    if not isinstance(answer, list) or len(answer) != count:
        raise ChainError(f"the node did not answer a batch of {count} calls: {str(answer)[:200]}")
    try:
        return sorted(answer, key=lambda r: int(r["id"]))
    except (KeyError, TypeError, ValueError):
        raise ChainError(f"the node's batch answer is malformed: {str(answer)[:200]}") from None


def batch_caller(w3: Web3) -> BatchCaller:
    """How to send a batch of calls to ``w3``'s node: :class:`LoopbackRpc` for an HTTP node on this
    machine, otherwise web3's provider."""
    url = getattr(w3.provider, "endpoint_uri", None)
    if isinstance(url, str) and urlsplit(url).hostname in LOOPBACK_HOSTS and not urlsplit(url).username:
        return LoopbackRpc(url)

    def provider_batch(calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        try:
            answer = w3.provider.make_batch_request(list(calls))
        except Exception as exc:  # the provider raises whatever its transport raised
            raise ChainError(f"the node did not answer a batch of calls ({type(exc).__name__})") from None
        return _in_order(answer, len(calls))

    return provider_batch
