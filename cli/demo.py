"""The demo: a fresh dev stack (:class:`~cli.stack.DevStack`) and a scenario run on it.

The scenario is the barter story (:func:`cli.barter_story.run_story`): a cooperative of three
members seals and appraises a dataset, offers it, a provider stakes and accepts, members claim
their credits and run jobs that the stack's oracle daemon meters (always on simulated GPUs, see
:data:`SIMULATE_WHY`), each key is released as delivery crosses a step, and the provider verifies the dataset.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cli.barter_story import StoryEnv, run_story
from cli.stack import DevStack


@dataclass
class DemoReport:
    """What a scenario did: the demo's summary table is made of it."""

    gpu_hours_delivered: float = 0.0
    steps_released: int = 0
    #: (step, role, gas) of every transaction, the deployment's included.
    gas: list[tuple[str, str, int]] = field(default_factory=list)
    #: What each member received, in words (e.g. "4 GPU-s of credits").
    received: dict[str, str] = field(default_factory=dict)
    #: Steps that failed, with why; the demo exits non-zero if there is any.
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def gas_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _step, role, gas in self.gas:
            out[role] = out.get(role, 0) + gas
        return out


#: The story's jobs run on three GPUs at once, one per member.
STORY_GPUS = 3
#: The story's jobs are ``sleep`` commands, which no real GPU would see busy: the demo meters
#: simulated GPUs even on a machine with NVIDIA GPUs (and says so).
SIMULATE_WHY = ("the demo's jobs are sleep commands, so the demo meters simulated GPUs even where NVML "
                "finds GPUs")


def story_scenario(env: DevStack, *, say: Callable[[str], None]) -> DemoReport:
    """The barter story on the stack; its jobs are launched into the stack's oracle daemon."""
    story = run_story(StoryEnv(w3=env.w3, deployment=env.deployment, deployments_dir=env.deployments_dir,
                               chain_url=env.chain_url, store=env.store, work_dir=env.workdir / "story",
                               oracle_db=env.oracle_db), say=say)
    return DemoReport(gpu_hours_delivered=story.gpu_hours_delivered, steps_released=story.steps_released,
                      gas=list(story.gas), failures=list(story.failures),
                      received={m: f"{c:,} GPU-s of credits" for m, c in story.members_received.items()})


def run_demo(*, say: Callable[[str], None] = print, workdir: Path | None = None, ipfs: bool = True,
             on_stack_up: Callable[[DevStack], None] | None = None) -> DemoReport:
    """Start a fresh dev stack, run the story on it, stop the stack; the report says how it went.

    Without ``workdir`` the stack lives in a fresh temp dir, removed after a clean run and kept
    (and named) when a step failed or the demo broke off, so its logs can be read."""
    t0 = time.monotonic()
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="gpubarter-demo-")) if workdir is None else workdir
    clean = False
    try:
        stack = DevStack(workdir=workdir, ipfs=ipfs, sim_gpus=STORY_GPUS, simulate=SIMULATE_WHY, say=say)
        with stack:
            if on_stack_up is not None:
                on_stack_up(stack)
            report = story_scenario(stack, say=say)
            report.gas[:0] = [(f"deploy {what}", "governance", gas) for what, gas in stack.deploy_gas]
        clean = not report.failures
    finally:
        if own and clean:
            shutil.rmtree(workdir, ignore_errors=True)
        elif own:
            say(f"the demo's work dir is kept, with its logs in logs/: {workdir}")
    report.seconds = time.monotonic() - t0
    return report
