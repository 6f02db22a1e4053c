"""`gpubarter up` as a user runs it: everything starts, answers, and nothing outlives it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from waiting import wait_for
from web3 import Web3

from cli.stack import http_ok
from gpubarter.chain.contracts import contract_at
from gpubarter.chain.network import connect
from gpubarter.paths import project_root
from gpubarter.process import free_port
from oracle.testing import fake_nvml


class Up:
    """A running `gpubarter up` subprocess, its work dir and output."""

    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        self.workdir = workdir
        self.out = workdir.parent / f"{workdir.name}.out"
        self.proc = subprocess.Popen([sys.executable, "-m", "cli", "up", "--dir", str(workdir), *args],
                                     cwd=project_root(), env=env, stdout=self.out.open("w"),
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.out.read_text()

    def state(self) -> dict:
        def ready() -> dict | None:
            assert self.proc.poll() is None, f"up exited with {self.proc.returncode}: {self.output()}"
            path = self.workdir / "stack.json"
            return json.loads(path.read_text()) if path.exists() else None
        return wait_for("the stack to be up", ready, timeout=150, interval=0.2)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes still alive (a zombie waiting for a reaper is dead)."""
    def alive(p: psutil.Process) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    wait_for("every child of up to exit", lambda: not any(alive(p) for p in processes), timeout=20)
    return [p for p in processes if alive(p)]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


@pytest.fixture
def up_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "GPUBARTER_PRIVATE_KEY": "0x" + "11" * 32}  # must not reach the oracle


@pytest.fixture
def started(tmp_path: Path, up_env: dict[str, str]) -> Iterator[Up]:
    up = Up(tmp_path / "stack", up_env, "--port", str(free_port()))
    try:
        yield up
    finally:
        up.kill()


@pytest.mark.slow
def test_up_runs_the_whole_stack_and_sigint_stops_every_process(started: Up) -> None:
    state = started.state()
    # the API answers, and indexes the chain the stack deployed
    assert get(f"{state['api_url']}/api/v1/health") == (200, b'{"status":"ok"}')
    assert get(f"{state['docs_url']}")[0] == 200
    w3 = connect(state["chain_url"])
    assert w3.eth.chain_id == 31337
    assert all(w3.eth.get_code(Web3.to_checksum_address(a)) for a in state["contracts"].values())
    assert len(state["contracts"]) >= 10
    # the IPFS node answers its RPC API
    req = urllib.request.Request(f"{state['ipfs_api_url']}/api/v0/id", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert b"ID" in resp.read()
    # the oracle daemon runs, meters simulated GPUs (no GPU here) and says so
    oracle = psutil.Process(state["pids"]["oracle"])
    assert "oracle" in oracle.cmdline() and "--submit" in oracle.cmdline()
    status, metrics = get(state["metrics_url"])
    assert status == 200 and b'gpubarter_oracle_simulated{backend="simulated"} 1.0' in metrics
    out = started.output()
    assert "SIMULATED GPU" in out and state["simulated_gpus"] is True
    # addresses and roles are printed, keys never (not anvil's, not the environment's)
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in out and "metering signer" in out
    assert "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" not in out
    assert "11" * 32 not in out
    assert state["accounts"][0]["roles"][1].startswith("metering signer")
    assert '"signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"' in (
        started.workdir / "logs" / "oracle.log").read_text()  # the local MeteringOracle's signer
    # the key agents run: the dev cooperative's (dev account 1 is its key agent) and the provider's
    for name in ("coop-agent", "provider-agent"):
        assert "agent" in psutil.Process(state["pids"][name]).cmdline(), name
    coop = contract_at(w3, "DataCooperative", state["dev_cooperative"])
    key_agent = coop.functions.KEY_AGENT_ROLE().call()
    assert coop.functions.hasRole(key_agent, state["accounts"][1]["address"]).call()
    assert "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" not in out  # account 1's key
    assert "key agent of 'Dev Co-op'" in state["accounts"][1]["roles"][-1]
    # the indexer follows the chain: the API turns ready
    wait_for("the API to be ready", lambda: http_ok(f"{state['api_url']}/api/v1/ready"), timeout=60)
    children = started.descendants()
    assert {p.pid for p in children} >= set(state["pids"].values())

    started.proc.send_signal(signal.SIGINT)
    assert started.wait() == 0, started.output()
    assert not gone(children)
    assert "SIGINT: stopped every part of the stack" in started.output()
    assert not (started.workdir / "stack.json").exists()


@pytest.mark.slow
def test_a_sigkilled_up_leaves_no_process_behind(started: Up) -> None:
    state = started.state()
    children = started.descendants()
    assert {"anvil", "ipfs", "oracle"} <= set(state["pids"])
    started.proc.send_signal(signal.SIGKILL)
    started.wait()
    assert not gone(children)


@pytest.fixture
def nvml_env(up_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A host whose NVML finds one GPU: the fake libnvidia-ml (a test stand-in) loaded by pynvml."""
    lib = fake_nvml.build(tmp_path / "fake-nvml")
    config = fake_nvml.write_config(tmp_path / "nvml.conf", [fake_nvml.FakeGpu(name="NVIDIA H100 80GB HBM3")])
    return fake_nvml.env(lib.parent, config, up_env)


@pytest.mark.slow
def test_with_a_gpu_the_oracle_meters_nvml_is_restarted_when_it_dies_and_sigterm_stops_all(
    tmp_path: Path, nvml_env: dict[str, str]
) -> None:
    started = Up(tmp_path / "stack", nvml_env, "--port", str(free_port()), "--no-ipfs")
    try:
        state = started.state()
        assert state["ipfs_api_url"] is None and state["store"].endswith("store")
        assert state["simulated_gpus"] is False
        assert "metering 1 real GPU(s) through NVML (NVIDIA H100 80GB HBM3)" in started.output()
        assert "SIMULATED" not in started.output()
        first = psutil.Process(state["pids"]["oracle"])
        assert first.cmdline()[first.cmdline().index("--backend") + 1] == "nvml"
        first.kill()

        def restarted() -> int | None:
            pid = json.loads((started.workdir / "stack.json").read_text())["pids"].get("oracle")
            return pid if pid and pid != first.pid else None
        new_pid = wait_for("the oracle to be restarted", restarted, timeout=60, interval=0.2)
        assert "oracle exited with code -9; restarting in 1 s" in started.output()
        assert psutil.Process(new_pid).is_running()
        children = started.descendants()
        started.proc.send_signal(signal.SIGTERM)
        assert started.wait() == 0, started.output()
        assert not gone(children)
        assert "SIGTERM: stopped" in started.output()
    finally:
        started.kill()


def test_a_busy_port_is_a_clear_error_and_starts_nothing(tmp_path: Path, cli_env: dict[str, str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        up = Up(tmp_path / "stack", cli_env, "--port", str(port), "--no-ipfs")
        assert up.wait() == 1
    out = up.output()
    assert f"error: port {port} on 127.0.0.1 is in use" in out and "Traceback" not in out
    assert not (tmp_path / "stack" / "deployments").exists()  # nothing was started or deployed


@pytest.mark.parametrize("args", [("--port", "0"), ("--sim-gpus", "0")])
def test_bad_options_are_refused_before_anything_starts(tmp_path: Path, cli_env: dict[str, str],
                                                         args: tuple[str, str]) -> None:
    up = Up(tmp_path / "stack", cli_env, *args)
    assert up.wait() == 2
    assert "Invalid value" in up.output() and not (tmp_path / "stack").exists()
