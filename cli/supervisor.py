"""Keep a list of child commands running: start each until ready, restart the ones that die.

The policy (what ``gpubarter up`` documents): a child that exits is reported and
restarted after a back-off that starts at ``backoff_s`` and doubles up to
``max_backoff_s``. A child that stays up ``stable_s`` seconds is forgiven its earlier
failures; one that fails ``max_failures`` times in a row (exits, or does not become
ready again) stops the whole stack with :class:`ChildFailed`, naming its log.

Every child is a :class:`~gpubarter.process.ChildProcess` process, so it dies with its
parent even when the parent is SIGKILLed (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpubarter.errors import NodeStartError
from gpubarter.process import ChildProcess

#: Environment variables that would make a child sign with another key than the local
#: deployer, who is the metering oracle's only signer on a dev chain (see deploy_plan.py).
_KEY_VARIABLES = ("GPUBARTER_PRIVATE_KEY", "GPUBARTER_KEYSTORE", "GPUBARTER_KEYSTORE_PASSWORD")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a supervised child: ours, without signing keys, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _KEY_VARIABLES}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


class ChildFailed(NodeStartError):
    """A supervised child kept failing; the stack stops."""


def _always_ready() -> bool:
    return True


@dataclass(frozen=True)
class ChildSpec:
    """One child: a command line, its environment and how to tell it is ready."""

    name: str
    cmd: tuple[str, ...]
    ready: Callable[[], bool] = _always_ready
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    start_timeout_s: float = 60.0


@dataclass
class _Child:
    spec: ChildSpec
    process: ChildProcess
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    exit_codes: list[int | None] = field(default_factory=list)


class Supervisor:
    def __init__(self, specs: Sequence[ChildSpec], *, log_dir: Path, say: Callable[[str], None],
                 backoff_s: float = 1.0, max_backoff_s: float = 30.0, max_failures: int = 5,
                 stable_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.log_dir = log_dir
        self.say = say
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.max_failures, self.stable_s = max_failures, stable_s
        self.clock = clock
        self._children = [_Child(s, ChildProcess(s.name, log_path=self.log_path(s.name))) for s in specs]

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @property
    def pids(self) -> dict[str, int]:
        return {c.spec.name: c.process.pid for c in self._children
                if c.process.running and c.process.pid is not None}

    def start(self) -> None:
        """Start every child and wait until all are ready; one that is not stops them all."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start every child without waiting, so they get ready side by side (see wait_ready)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for child in self._children:
                child.process.launch(child.spec.cmd, env=child.spec.env, cwd=child.spec.cwd)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self) -> None:
        try:
            for child in self._children:
                child.process.wait_ready(child.spec.ready, timeout=child.spec.start_timeout_s, poll_s=0.1)
                child.started_at = self.clock()
        except BaseException:
            self.stop()
            raise

    def _start(self, child: _Child) -> None:
        spec = child.spec
        child.process.start(spec.cmd, ready=spec.ready, timeout=spec.start_timeout_s, env=spec.env,
                            cwd=spec.cwd, poll_s=0.1)
        child.started_at = self.clock()
        child.restart_at = None

    def poll(self) -> None:
        """Report and schedule restarts of children that died; restart those that are due."""
        now = self.clock()
        for child in self._children:
            if child.restart_at is None and not child.process.running:
                self._failed(child, f"exited with code {child.process.returncode}", now)
            elif child.restart_at is None and now - child.started_at >= self.stable_s:
                child.failures = 0
            if child.restart_at is not None and now >= child.restart_at:
                try:
                    self._start(child)
                    self.say(f"{child.spec.name} restarted (pid {child.process.pid})")
                except NodeStartError as exc:
                    self._failed(child, f"did not start again: {exc}", self.clock())

    def _failed(self, child: _Child, what: str, now: float) -> None:
        name, tail = child.spec.name, child.process.log_tail()
        child.process.stop()
        child.failures += 1
        if child.failures >= self.max_failures:
            raise ChildFailed(f"{name} {what}; it failed {child.failures} times in a row, so the stack "
                              f"stops (log: {self.log_path(name)}){': ' + tail if tail else ''}")
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (child.failures - 1))
        child.restart_at = now + delay
        self.say(f"{name} {what}; restarting in {delay:g} s "
                 f"(failure {child.failures} of {self.max_failures}; log: {self.log_path(name)})")

    def stop(self) -> None:
        for child in reversed(self._children):
            child.process.stop()
