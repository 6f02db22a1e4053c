"""`gpubarter demo`, the README's main job, end to end as a user runs it; and a failing step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

import gpubarter.demo
from gpubarter.chain.contracts import Deployment
from gpubarter.chain.tx import Sender
from gpubarter.cli import main
from gpubarter.demo import DemoReport, token_scenario
from gpubarter.paths import project_root


def test_demo_runs_the_scenario_on_a_fresh_stack_and_exits_zero(cli_env: dict[str, str], tmp_path: Path):
    before = {p.pid for p in psutil.process_iter()}
    proc = subprocess.run([sys.executable, "-m", "gpubarter", "demo", "--dir", str(tmp_path / "demo")],
                          env=cli_env, text=True, capture_output=True, cwd=project_root(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in ("chain: anvil at", "deployment: 10 contracts deployed", "content store: IPFS node",
                 "backend: indexer following the chain", "SIMULATED GPU", "oracle: daemon running",
                 "trader takes CPT from the faucet", "agent submits the provider's permit",
                 "GPU Barter demo summary", "GPU-hours delivered", "key steps released",
                 "gas spent by governance", "the dev stack is stopped"):
        assert step in out, step
    # the summary shows what each role ended with, and no failure
    for line in ("trader received", "750.00 CPT", "150.00 CPT", "100.00 CPT"):
        assert line in out, line
    assert "FAILED" not in out
    # the stack stopped with the demo: no anvil, IPFS node or oracle of its work dir is left
    assert not [p for p in psutil.process_iter() if p.pid not in before and _mentions(p, str(tmp_path))]


def _mentions(process: psutil.Process, text: str) -> bool:
    """Whether a process's command line or environment (IPFS_PATH) names ``text``."""
    try:
        return text in " ".join(process.cmdline()) or any(text in v for v in process.environ().values())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


@pytest.fixture
def env(w3, accounts: list[Sender], deployment: Deployment) -> SimpleNamespace:
    """The scenario's view of a stack, on the test session's chain."""
    return SimpleNamespace(w3=w3, deployment=deployment, sender=lambda i: accounts[i])


def test_a_failing_step_is_reported_and_ends_the_scenario(env: SimpleNamespace) -> None:
    token = env.deployment.contract(env.w3, "ComputeToken")
    env.sender(1).transact(token.functions.faucet())  # the trader's faucet is now on cooldown
    lines: list[str] = []
    report = token_scenario(env, say=lines.append)  # type: ignore[arg-type]
    assert len(report.failures) == 1
    assert report.failures[0].startswith(
        "trader takes CPT from the faucet: reverted: ComputeTokenFaucetCooldown(")
    assert report.gas == [] and report.received == {}  # nothing after the failed step ran
    assert any("FAILED" in line for line in lines)


def test_the_demo_exits_one_when_a_step_failed(env: SimpleNamespace, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    token = env.deployment.contract(env.w3, "ComputeToken")
    env.sender(1).transact(token.functions.faucet())
    failed = token_scenario(env, say=lambda _line: None)  # type: ignore[arg-type]
    monkeypatch.setattr(gpubarter.demo, "run_demo", lambda **_kw: failed)
    assert main(["demo"]) == 1
    out = capsys.readouterr().out
    assert "failed steps" in out and "FAILED: trader takes CPT from the faucet" in out
    assert isinstance(failed, DemoReport)
