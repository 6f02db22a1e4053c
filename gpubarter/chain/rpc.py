"""JSON-RPC batches for hot paths (the order relay and its pruner): ``batch_caller(w3)``.

For a node on this machine the batch goes straight to httpx's keep-alive connection pool (its
transport), shared by the API's threads: web3's provider spends more CPU per request in
``requests`` than the node takes to answer. A remote node (proxies, TLS settings, API keys in the
URL) keeps web3's provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from web3 import Web3

from gpubarter.chain.network import LOOPBACK_HOSTS
from gpubarter.errors import ChainError

#: ``(method, params)`` pairs in; one JSON-RPC response object per call out, in the same order.
BatchCaller = Callable[[Sequence[tuple[str, list[Any]]]], list[dict[str, Any]]]

#: Idle connections kept open to the node: one per API worker thread (anyio's pool holds 40) and the pruner.
_KEEPALIVE = 64


class LoopbackRpc:
    """Batches to a node on this machine over httpx's keep-alive connection pool, shared by every
    thread (httpx's pool is thread-safe). A connection the node closed while idle is dropped by the
    pool before use; one closed under a request is retried once on a fresh connection (JSON-RPC
    reads are safe to resend, and a resent signed transaction is the same transaction).

    Requests go straight to the pool's transport (:class:`httpx.HTTPTransport`, httpx's public
    transport interface): a POST of a JSON body to one fixed URL needs none of what
    :class:`httpx.Client` adds on top (URL merging, cookies, auth and redirect flows), which costs
    as much CPU per request again as the transport itself."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = httpx.URL(url)
        self.where = f"{self.url.host}:{self.url.port or (443 if self.url.scheme == 'https' else 80)}"
        self._headers = {"Content-Type": "application/json"}
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        # A loopback node is reached directly: no proxy (the transport reads no proxy variables; a
        # client would, on every request) and no certificate settings from the environment.
        self._transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=_KEEPALIVE), trust_env=False)

    def _send(self, body: bytes) -> tuple[int, bytes]:
        request = httpx.Request("POST", self.url, headers=self._headers, content=body,
                                extensions=self._extensions)
        response = self._transport.handle_request(request)
        try:
            return response.status_code, response.read()
        finally:
            response.close()  # back to the pool

    def _post(self, body: bytes) -> tuple[int, bytes]:
        try:
            return self._send(body)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return self._send(body)  # the node closed a kept-alive connection under the request

    def __call__(self, calls: Sequence[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": p}
                           for i, (m, p) in enumerate(calls)], separators=(",", ":")).encode()
        try:
            status, content = self._post(body)
            if status != 200:
                raise ChainError(f"the node answered HTTP {status} to a batch of calls")
            answer = json.loads(content)
        except (httpx.HTTPError, ValueError) as exc:
            raise ChainError(f"the node at {self.where} did not answer a batch of calls "
                             f"({type(exc).__name__})") from None
        return _in_order(answer, len(calls))

    def close(self) -> None:
        self._transport.close()


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
