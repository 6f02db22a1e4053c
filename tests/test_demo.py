"""`gpubarter demo`, the README's main job, end to end as a user runs it; and a failing step."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

import cli.commands.demo
import cli.demo
from cli import main
from cli.demo import DemoReport
from gpubarter.paths import project_root
from oracle.testing import fake_nvml


@pytest.mark.slow
def test_demo_runs_the_scenario_on_a_fresh_stack_and_exits_zero(cli_env: dict[str, str], tmp_path: Path):
    # A host whose NVML finds a GPU (the fake libnvidia-ml, a test stand-in): the story's jobs are
    # sleep commands no real GPU would see, so the demo must still meter simulated GPUs, and say so.
    lib = fake_nvml.build(tmp_path / "fake-nvml")
    config = fake_nvml.write_config(tmp_path / "nvml.conf", [fake_nvml.FakeGpu(name="NVIDIA H100 80GB HBM3")])
    env = fake_nvml.env(lib.parent, config, cli_env)
    env["TMPDIR"] = str(temp := tmp_path / "tmp")  # no --dir: the demo's stack lives in a fresh temp dir
    temp.mkdir()
    before = {p.pid for p in psutil.process_iter()}
    proc = subprocess.run([sys.executable, "-m", "cli", "demo"],
                          env=env, text=True, capture_output=True, cwd=project_root(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in ("chain: anvil at", "deployment: 10 contracts deployed", "content store: IPFS node",
                 "backend: indexer following the chain", "SIMULATED GPU", "oracle: daemon running",
                 "has 3 members with shares 1, 2, 3", "seals dataset", "appraises the dataset at",
                 "provider accepts deal 1", "member 3 claims 6 GPU-s", "key agent releases key 4",
                 "opens shard 4", "the provider holds the whole dataset, bit for bit",
                 "exactly the 12 credits minted", "GPU Barter demo summary", "key steps released",
                 "gas spent by governance", "gas spent by key agent", "gas spent by oracle",
                 "the dev stack is stopped"):
        assert step in out, step
    # the summary: 12 GPU-s delivered, 4 keys released, what each member received, no failure
    assert re.search(r"GPU-hours delivered\s*│\s*0\.0033 \(12 GPU-s\)", out), out
    assert re.search(r"key steps released\s*│\s*4\s", out), out
    for credits in ("2 GPU-s of credits", "4 GPU-s of credits", "6 GPU-s of credits"):
        assert credits in out, credits
    assert "FAILED" not in out
    assert "the demo's jobs are sleep commands" in out and "through NVML" not in out
    # the stack stopped with the demo: no anvil, IPFS node or oracle of its work dir is left
    assert not [p for p in psutil.process_iter() if p.pid not in before and _mentions(p, str(tmp_path))]
    # and a clean run leaves no work dir behind
    assert not list(temp.glob("gpubarter-demo-*")) and "work dir is kept" not in out


def _mentions(process: psutil.Process, text: str) -> bool:
    """Whether a process's command line or environment (IPFS_PATH) names ``text``."""
    try:
        return text in " ".join(process.cmdline()) or any(text in v for v in process.environ().values())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def test_the_demo_exits_one_when_a_step_failed(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    failed = DemoReport(steps_released=2, gas=[("release", "key agent", 69_000)],
                        failures=["step 3: key agent release reverted: BarterEscrowStepNotDue(step=3)"])
    monkeypatch.setattr(cli.commands.demo, "run_demo", lambda **_kw: failed)
    assert main(["demo"]) == 1
    out = capsys.readouterr().out
    assert "failed steps" in out and "FAILED: step 3: key agent release reverted" in out
    assert "gas spent by key agent" in out and "69,000" in out


class _StandInStack:
    """Just enough of DevStack for run_demo's work-dir handling (the real stack runs above)."""

    def __init__(self, *, workdir: Path, **_kw: object) -> None:
        self.workdir, self.deploy_gas = workdir, []
        (workdir / "logs").mkdir(parents=True)

    def __enter__(self) -> _StandInStack:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass


@pytest.mark.parametrize("failures", [[], ["step 3: key agent release reverted"]])
def test_the_demos_temp_dir_goes_after_a_clean_run_and_stays_when_a_step_failed(
        failures: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cli.demo, "DevStack", _StandInStack)
    report = DemoReport(failures=list(failures))
    monkeypatch.setattr(cli.demo, "story_scenario", lambda *_a, **_kw: report)
    said: list[str] = []
    assert cli.demo.run_demo(say=said.append).failures == failures
    left = list(tmp_path.glob("gpubarter-demo-*"))
    if failures:
        assert len(left) == 1 and (left[0] / "logs").is_dir()
        assert said == [f"the demo's work dir is kept, with its logs in logs/: {left[0]}"]
    else:
        assert left == [] and said == []


def test_a_demo_that_breaks_off_keeps_its_temp_dir_and_a_given_dir_is_always_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(cli.demo, "DevStack", _StandInStack)

    def broken(*_a: object, **_kw: object) -> DemoReport:
        raise RuntimeError("the chain went away")

    monkeypatch.setattr(cli.demo, "story_scenario", broken)
    said: list[str] = []
    with pytest.raises(RuntimeError, match="the chain went away"):
        cli.demo.run_demo(say=said.append)
    [kept] = list((tmp_path / "tmp").glob("gpubarter-demo-*"))
    assert said == [f"the demo's work dir is kept, with its logs in logs/: {kept}"]

    monkeypatch.setattr(cli.demo, "story_scenario", lambda *_a, **_kw: DemoReport())
    cli.demo.run_demo(say=said.append, workdir=tmp_path / "mine")
    assert (tmp_path / "mine" / "logs").is_dir() and len(said) == 1
