"""JSON-RPC batches for the relay's hot path: a loopback node through httpx's keep-alive pool, shared
by threads; a remote node through web3's provider."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web3 import Web3

from gpubarter.chain.rpc import LoopbackRpc, batch_caller
from gpubarter.errors import ChainError
from gpubarter.process import free_port


def test_a_loopback_node_answers_a_batch_in_order(w3) -> None:
    rpc = batch_caller(w3)
    assert isinstance(rpc, LoopbackRpc)
    calls = [("eth_chainId", []), ("eth_blockNumber", []), ("eth_getBalance", [w3.eth.accounts[0], "latest"]),
             ("no_such_method", [])]
    answers = rpc(calls)
    assert [a["id"] for a in answers] == [0, 1, 2, 3]
    assert int(answers[0]["result"], 16) == w3.eth.chain_id
    assert int(answers[1]["result"], 16) == w3.eth.block_number
    assert int(answers[2]["result"], 16) == w3.eth.get_balance(w3.eth.accounts[0])
    assert "error" in answers[3]  # a refused call is the caller's to judge, not a transport error


def test_a_remote_node_keeps_the_provider() -> None:
    for url in ("https://rpc.example.org/v3/KEY", "http://user:pw@127.0.0.1:8545"):
        assert not isinstance(batch_caller(Web3(Web3.HTTPProvider(url))), LoopbackRpc)


def test_nothing_listening_is_a_clear_chain_error() -> None:
    port = free_port()
    with pytest.raises(ChainError, match=f"127.0.0.1:{port} did not answer"):
        LoopbackRpc(f"http://127.0.0.1:{port}")([("eth_chainId", [])])


def test_threads_sharing_one_client_each_get_their_own_answers(w3) -> None:
    rpc = LoopbackRpc(w3.provider.endpoint_uri)
    accounts = w3.eth.accounts

    def balances(i: int) -> list[int]:
        who = accounts[i % len(accounts)]
        return [int(a["result"], 16) for a in rpc([("eth_getBalance", [who, "latest"])] * 3
                                                  + [("eth_chainId", [])])]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(balances, range(64)))
    for i, got in enumerate(answers):
        assert got == [w3.eth.get_balance(accounts[i % len(accounts)])] * 3 + [w3.eth.chain_id]


class _OneRequestPerConnection(BaseHTTPRequestHandler):
    """Answers one batch per connection, then drops it without saying so (as a node whose keep-alive
    timer ran out), or answers something that is not a batch when asked ``bad_*``."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if calls[0]["method"] == "bad_status":
            body, status = b"overloaded", 503
        elif calls[0]["method"] == "bad_shape":
            body, status = json.dumps({"jsonrpc": "2.0", "error": {"code": -32600}}).encode(), 200
        else:
            body, status = json.dumps([{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]}
                                       for c in reversed(calls)]).encode(), 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dropping_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OneRequestPerConnection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_dropped_keep_alive_connection_is_reopened_and_answers_come_in_order(dropping_node: str) -> None:
    rpc = LoopbackRpc(dropping_node)
    for _ in range(3):  # each call after the first finds its connection closed by the node
        assert [a["result"] for a in rpc([("a", []), ("b", []), ("c", [])])] == ["a", "b", "c"]


class _ClosesUnderTheSecondRequest(BaseHTTPRequestHandler):
    """Keeps a connection open after its first answer, then closes it on reading the second request,
    answering nothing (a node whose keep-alive timer ran out as the request arrived)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        self.served = 0
        super().setup()

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.served += 1
        if self.served == 2:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        body = json.dumps([{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in calls]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


def test_a_connection_closed_under_a_request_is_retried_once_on_a_fresh_one() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesUnderTheSecondRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rpc = LoopbackRpc(f"http://127.0.0.1:{server.server_address[1]}")
        for _ in range(3):  # each call after the first is dropped once, then answered on a new connection
            assert [a["result"] for a in rpc([("a", []), ("b", [])])] == ["a", "b"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("method", "message"), [("bad_status", "HTTP 503"),
                                                  ("bad_shape", "did not answer a batch of 1 calls")])
def test_a_node_that_answers_badly_is_a_clear_chain_error(dropping_node: str, method: str,
                                                          message: str) -> None:
    with pytest.raises(ChainError, match=message):
        LoopbackRpc(dropping_node)([(method, [])])


class _KeepAliveNode(BaseHTTPRequestHandler):
    """Keeps connections open; answers in chunks when asked ``chunked``, and asks to close the
    connection after answering ``close``. Counts the connections it accepted."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps([{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in calls]).encode()
        self.send_response(200)
        if calls[0]["method"] == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:7], body[7:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            if calls[0]["method"] == "close":
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


def test_chunked_answers_and_a_node_that_asks_to_close_are_read_right() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveNode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rpc = LoopbackRpc(f"http://127.0.0.1:{server.server_address[1]}")
        for _ in range(3):
            assert [a["result"] for a in rpc([("chunked", []), ("b", [])])] == ["chunked", "b"]
        assert _KeepAliveNode.connections == 1  # the chunked answers kept the one connection
        assert [a["result"] for a in rpc([("close", [])])] == ["close"]
        assert [a["result"] for a in rpc([("after", [])])] == ["after"]
        assert _KeepAliveNode.connections == 2  # closed as asked, then opened anew
    finally:
        server.shutdown()
        server.server_close()
