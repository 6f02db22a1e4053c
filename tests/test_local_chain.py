"""The local chain: ready fast, refuses a busy port, never leaves an orphan."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from gpubarter.chain.anvil import LocalChain, rpc_answers
from gpubarter.errors import NodeStartError


def _gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_start_answers_and_stop_kills():
    chain = LocalChain().start()
    pid = chain.pid
    assert rpc_answers(chain.url) == 31337
    chain.stop()
    chain.stop()  # idempotent
    assert pid is not None and _gone(pid)


def test_busy_port_is_refused_with_a_clear_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(NodeStartError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalChain(port=port).start()


CHILD = textwrap.dedent("""
    import sys, time
    from gpubarter.chain.anvil import LocalChain
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
        parent.wait(timeout=10)
        assert _gone(anvil_pid), f"anvil {anvil_pid} outlived its parent after {sig.name}"
    finally:
        parent.kill()
        parent.wait()
