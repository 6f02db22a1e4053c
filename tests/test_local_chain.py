"""The local chain: ready fast, refuses a busy port, never leaves an orphan."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap

import psutil
import pytest
from waiting import wait_for
from web3 import Web3

from devservers.anvil import LocalChain, rpc_answers
from gpubarter.errors import NodeStartError


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie has: only its parent's wait is missing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_start_answers_and_stop_kills():
    chain = LocalChain().start()
    pid = chain.pid
    assert rpc_answers(chain.url) == 31337
    chain.stop()
    chain.stop()  # idempotent
    assert pid is not None
    wait_for(f"anvil {pid} to exit", lambda: _gone(pid))


def test_busy_port_is_refused_with_a_clear_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(NodeStartError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalChain(port=port).start()


CHILD = textwrap.dedent("""
    import signal, sys, time
    # a parent started in the background (nohup, `&`) passes SIGINT on ignored: take Python's own
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from devservers.anvil import LocalChain
    chain = LocalChain().start()
    print(chain.pid, flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_no_orphan_when_the_parent_dies(sig):
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        anvil_pid = int(parent.stdout.readline())
        assert psutil.pid_exists(anvil_pid)
        os.kill(parent.pid, sig)
        parent.wait(timeout=15)  # SIGINT/SIGTERM: up to anvil's 5 s grace
        wait_for(f"anvil {anvil_pid} to exit with its parent ({sig.name})", lambda: _gone(anvil_pid))
    finally:
        parent.kill()
        parent.wait()


def test_past_states_stay_in_memory_and_nothing_is_left_on_disk(tmp_path, monkeypatch: pytest.MonkeyPatch):
    # anvil moves states past its in-memory window (500 blocks) to disk; a killed anvil left them
    # in ~/.foundry/anvil/tmp (79 GB in a day of tests). Here its cache is a scratch dir of ours.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    chain = LocalChain().start()
    try:
        [cache] = tmp_path.glob("gpubarter-anvil-*")
        w3 = Web3(Web3.HTTPProvider(chain.url))
        for _ in range(8):
            w3.provider.make_request("anvil_mine", [100])
        tx = {"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": "0x1"}
        w3.provider.make_request("eth_sendTransaction", [tx])
        assert w3.eth.block_number >= 800
        assert [p.name for p in cache.rglob("*") if p.is_file()] == [".owner-pid"]
    finally:
        chain.stop()
    assert list(tmp_path.iterdir()) == []
