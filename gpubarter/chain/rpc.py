"""JSON-RPC batches for hot paths (the order relay and its pruner): ``batch_caller(w3)``.

For a node on this machine the batch goes over one keep-alive connection per thread, the request
built by hand and the response read by httptools (uvicorn's C parser): web3's provider spends
about 1 ms of CPU per request in ``requests`` and ``urllib3`` before a byte moves, more than the
node takes to answer, and ``http.client`` a third of that parsing headers. A remote
node (proxies, TLS, API keys in the URL) keeps web3's provider.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httptools
from web3 import Web3

from gpubarter.chain.network import LOOPBACK_HOSTS
from gpubarter.errors import ChainError

#: ``(method, params)`` pairs in; one JSON-RPC response object per call out, in the same order.
BatchCaller = Callable[[Sequence[tuple[str, list[Any]]]], list[dict[str, Any]]]

#: How much one read from the node's socket takes at most.
_RECV_BYTES = 256 * 1024


class _Response:
    """One HTTP response as httptools parses it: status, keep-alive, body and whether it is complete
    (the parser tells keep-alive and status only while it is on the headers)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status, self.keep_alive, self.complete = 0, False, False
        self.body: list[bytes] = []

    def on_headers_complete(self) -> None:
        self.status, self.keep_alive = self.parser.get_status_code(), self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.complete = True


class LoopbackRpc:
    """Batches to a loopback node over one keep-alive connection per thread."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host, self.timeout = parts.hostname or "127.0.0.1", timeout
        self.port = parts.port or (443 if self.https else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                      "Content-Type: application/json\r\nContent-Length: ").encode()
        self._local = threading.local()

    def _socket(self) -> socket.socket:
        sock: socket.socket | None = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.https:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            self._local.sock = sock
        return sock

    def _drop(self) -> None:
        sock, self._local.sock = getattr(self._local, "sock", None), None
        if sock is not None:
            sock.close()

    def _post(self, body: bytes) -> bytes:
        request = self._head + b"%d\r\n\r\n" % len(body) + body
        for attempt in (0, 1):  # a keep-alive connection the node closed: reconnect once
            sock, response = self._socket(), _Response()
            answered = False
            try:
                sock.sendall(request)
                while not response.complete:
                    data = sock.recv(_RECV_BYTES)
                    if not data:
                        raise ConnectionResetError("the node closed the connection")
                    answered = True
                    response.parser.feed_data(data)
            except (ConnectionResetError, BrokenPipeError):
                self._drop()
                if attempt or answered:
                    raise
                continue
            if not response.keep_alive:
                self._drop()
            if response.status != 200:
                raise ChainError(f"the node answered HTTP {response.status} to a batch of calls")
            return b"".join(response.body)
        raise AssertionError("unreachable")

    def __call__(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)], separators=(",", ":")).encode()
        try:
            answer = json.loads(self._post(body))
        except (OSError, httptools.HttpParserError, ValueError) as exc:
            self._drop()
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
