"""DevStack in-process and the child Supervisor's restart policy."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest
from waiting import wait_for

from backend.vault.content_store import add_bytes
from cli.stack import DevStack, StackError
from cli.supervisor import ChildFailed, ChildSpec, Supervisor
from gpubarter.errors import ConfigError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _sleeper(name: str = "sleeper") -> ChildSpec:
    return ChildSpec(name, (sys.executable, "-c", "import time; time.sleep(60)"))


def _supervisor(tmp_path: Path, *specs: ChildSpec, clock: Clock, said: list[str]) -> Supervisor:
    return Supervisor(specs, log_dir=tmp_path / "logs", say=said.append, backoff_s=1, max_backoff_s=4,
                      max_failures=4, stable_s=60, clock=clock)


def test_a_dead_child_is_restarted_after_a_doubling_backoff(tmp_path: Path) -> None:
    clock, said = Clock(), []
    sup = _supervisor(tmp_path, _sleeper(), clock=clock, said=said)
    sup.start()
    try:
        for failure, delay in ((1, 1), (2, 2), (3, 4)):
            first = sup.pids["sleeper"]
            psutil.Process(first).kill()
            wait_for("the child to die", lambda pid=first: not psutil.pid_exists(pid) or
                     psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
            sup.poll()
            assert said[-1].startswith(f"sleeper exited with code -9; restarting in {delay} s "
                                       f"(failure {failure} of 4")
            assert "sleeper" not in sup.pids
            clock.now += delay - 0.5
            sup.poll()  # not yet due
            assert "sleeper" not in sup.pids
            clock.now += 0.5
            sup.poll()
            assert sup.pids["sleeper"] != first and said[-1].startswith("sleeper restarted")
    finally:
        sup.stop()
    assert not sup.pids


def test_a_child_that_keeps_failing_stops_the_stack_with_its_log(tmp_path: Path) -> None:
    clock, said = Clock(), []
    crasher = ChildSpec("crasher", (sys.executable, "-c", "print('out of disk'); raise SystemExit(3)"),
                        ready=lambda: True)
    sup = _supervisor(tmp_path, _sleeper(), crasher, clock=clock, said=said)
    sup.start()
    try:
        with pytest.raises(ChildFailed) as failed:
            for _ in range(10):
                wait_for("the crasher to exit", lambda: "crasher" not in sup.pids)
                sup.poll()
                clock.now += 10
        message = str(failed.value)
        assert "crasher exited with code 3; it failed 4 times in a row, so the stack stops" in message
        assert "crasher.log" in message and "out of disk" in message
        assert (tmp_path / "logs" / "crasher.log").read_text().count("out of disk") == 4
    finally:
        sup.stop()


def test_a_child_that_stays_up_is_forgiven_its_failures(tmp_path: Path) -> None:
    clock, said = Clock(), []
    sup = _supervisor(tmp_path, _sleeper(), clock=clock, said=said)
    sup.start()
    try:
        for _ in range(6):  # more than max_failures, but each time after a stable minute
            clock.now += 61
            sup.poll()  # stable: forgiven
            psutil.Process(sup.pids["sleeper"]).kill()
            wait_for("the child to die", lambda: "sleeper" not in sup.pids)
            sup.poll()
            assert "failure 1 of 4" in said[-1]
            clock.now += 1
            sup.poll()
    finally:
        sup.stop()


def test_a_child_not_ready_in_time_stops_the_children_started_before(tmp_path: Path) -> None:
    first = _sleeper("first")
    never = ChildSpec("never", (sys.executable, "-c", "import time; time.sleep(60)"),
                      ready=lambda: False, start_timeout_s=0.5)
    sup = Supervisor([first, never], log_dir=tmp_path / "logs", say=print)
    with pytest.raises(Exception, match="never was not ready within"):
        sup.start()
    assert not sup.pids


def test_child_names_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unique"):
        Supervisor([_sleeper(), _sleeper()], log_dir=tmp_path, say=print)


@pytest.mark.parametrize(("kwargs", "message"), [({"api_port": 70000}, "--port must be 1..65535"),
                                                 ({"sim_gpus": 0}, "--sim-gpus must be 1..64")])
def test_bad_stack_options_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DevStack(workdir=tmp_path / "stack", **kwargs)
    assert not (tmp_path / "stack").exists()


def test_a_stack_restarted_on_its_work_dir_keeps_its_chain_and_deployment(tmp_path: Path) -> None:
    said: list[str] = []
    workdir = tmp_path / "stack"
    with DevStack(workdir=workdir, ipfs=False, oracle=False, say=said.append) as stack:
        assert stack.redeployed and stack.deploy_gas
        contracts = dict(stack.deployment.contracts)
        token = stack.deployment.contract(stack.w3, "ComputeToken")
        stack.sender(5).transact(token.functions.faucet())
        assert stack.store.location == str(workdir / "state" / "vault" / "store")
        cid = add_bytes(stack.store, b"a sealed shard")
        assert (workdir / "stack.json").exists()
        assert stack.pids.keys() == {"anvil"}
    assert not (workdir / "stack.json").exists()
    with DevStack(workdir=workdir, ipfs=False, oracle=False, say=said.append) as again:
        assert not again.redeployed and again.deployment.contracts == contracts
        token = again.deployment.contract(again.w3, "ComputeToken")
        assert token.functions.balanceOf(again.sender(5).address).call() > 0  # the chain's state is back
        assert again.store.has(cid)
    assert any(line.startswith("deployment: reused the") for line in said)


def test_a_stopped_chain_stops_the_stack_with_a_clear_error(tmp_path: Path) -> None:
    with DevStack(workdir=tmp_path / "stack", ipfs=False, oracle=False) as stack:
        stack.check()
        assert stack.chain is not None
        stack.chain.stop()
        with pytest.raises(StackError, match=r"the chain \(anvil\) stopped; see .*anvil.log"):
            stack.watch(poll_s=0.05)


def test_a_work_dir_that_is_a_file_or_holds_a_running_stack_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        DevStack(workdir=a_file, ipfs=False, oracle=False).start()
    workdir = tmp_path / "stack"
    with DevStack(workdir=workdir, ipfs=False, oracle=False) as running:
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        with pytest.raises(ConfigError, match=r"a stack is already running in .*choose another --dir"):
            DevStack(workdir=workdir, ipfs=False, oracle=False).start()
        assert {p.pid for p in psutil.Process().children(recursive=True)} == before  # nothing started
        assert (workdir / "stack.json").exists()  # the running stack's description is untouched
        assert running.chain is not None and running.chain.running


def test_a_relative_work_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert DevStack(workdir=Path("rel")).workdir == tmp_path / "rel"  # children run elsewhere
