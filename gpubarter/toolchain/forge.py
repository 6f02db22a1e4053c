"""Foundry's forge, from npm, running the invariant suites in ``foundry/``.

forge compiles only with a solc it is given, and no native solc can be installed here
(docs: TOOLCHAIN.md), so ``forge_env()`` writes a two-line shell script that execs
``node gpubarter/toolchain/solc_wrapper.js`` (npm's WebAssembly solc 0.8.30, the compiler of
the product's own build) and points forge at it, offline. Everything forge writes stays under
``<build dir>/forge/``: the shim, artifacts, cache and the failing sequences it replays first.

A suite is a contract in ``foundry/**/*.invariant.t.sol``; its invariants run with the
``default`` profile of ``foundry.toml`` (a short campaign) or ``ci`` (10,000 sequences of depth
50). ``run_suite()`` runs one suite and returns forge's verdict per invariant, with forge's
per-handler metrics: a handler call that did not revert is one of its successes (see
``foundry/base/HandlerBase.sol``).

    uv run python -m gpubarter.toolchain.forge [--profile ci] [SUITE ...]

prints each suite's verdict, wall time and handler successes, and exits 1 when one fails.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpubarter import paths
from gpubarter.errors import ToolchainError
from gpubarter.file_lock import file_lock
from gpubarter.toolchain.node import forge_binary, require_executable
from gpubarter.toolchain.solc import solc_wrapper
from gpubarter.toolchain.tool_venv import tail, write_if_changed

#: Where the suites live, relative to the project root (outside contracts/, which the product's
#: compiler builds whole).
SUITES_DIR = "foundry"
SUITE_GLOB = "*.invariant.t.sol"
PROFILES = ("default", "ci")
#: A compile of the protocol with the WebAssembly solc takes about a minute on 2 cores.
BUILD_TIMEOUT_S = 900
#: Per suite, compile excluded: the default profile takes seconds, ci minutes.
RUN_TIMEOUT_S = {"default": 600, "ci": 3600}


class ForgeError(ToolchainError):
    """forge could not be set up, did not compile the suites, or gave no verdict."""


@dataclass(frozen=True)
class HandlerMetrics:
    """forge's counts for one handler function over a whole campaign."""

    calls: int
    reverts: int
    discards: int

    @property
    def successes(self) -> int:
        return self.calls - self.reverts - self.discards


@dataclass(frozen=True)
class InvariantResult:
    """One invariant function's campaign."""

    name: str
    passed: bool
    reason: str | None
    runs: int
    calls: int
    #: forge's key ``source:Handler.function`` -> its counts, e.g.
    #: ``foundry/exchange/ExchangeHandler.sol:ExchangeHandler.fill``.
    handlers: dict[str, HandlerMetrics]
    #: forge's shrunk failing sequence, as it reports it (None when the invariant held).
    counterexample: Any = None

    def describe_failure(self) -> str:
        """The reason and the shrunk call sequence (forge reports it as ``{"Sequence": [n, calls]}``)."""
        lines = [f"{self.name} failed: {self.reason or 'no reason given'}"]
        example = self.counterexample if isinstance(self.counterexample, dict) else {}
        sequence = example.get("Sequence")
        calls = sequence[1] if isinstance(sequence, list) and len(sequence) == 2 else []
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict):
                target = str(call.get("contract_name", "?")).rsplit(":", 1)[-1]
                lines.append(f"  {target}.{call.get('func_name')}({call.get('args', '')})")
        return "\n".join(lines)


@dataclass(frozen=True)
class SuiteRun:
    suite: str
    profile: str
    returncode: int
    wall_s: float
    invariants: list[InvariantResult] = field(default_factory=list)
    #: The last lines forge wrote on stderr (warnings, a compile failure).
    stderr_tail: str = ""

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and bool(self.invariants) and all(i.passed for i in self.invariants)


@dataclass(frozen=True)
class Campaign:
    """What a profile asks of every invariant: ``runs`` sequences of ``depth`` calls."""

    runs: int
    depth: int


def forge_dir() -> Path:
    return paths.build_dir() / "forge"


def suites(root: Path | None = None) -> list[str]:
    """The invariant suites: every contract defined in ``foundry/**/*.invariant.t.sol``, sorted."""
    root = root or paths.project_root()
    found = []
    for path in sorted((root / SUITES_DIR).rglob(SUITE_GLOB)):
        found += re.findall(r"^contract\s+(\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    return sorted(found)


def campaign(profile: str, root: Path | None = None) -> Campaign:
    """The runs and depth ``profile`` sets in foundry.toml (a profile falls back to ``default``)."""
    _check_profile(profile)
    config = tomllib.loads(((root or paths.project_root()) / "foundry.toml").read_text())
    profiles = config.get("profile", {})
    default = profiles.get("default", {}).get("invariant", {})
    chosen = {**default, **profiles.get(profile, {}).get("invariant", {})}
    try:
        return Campaign(runs=int(chosen["runs"]), depth=int(chosen["depth"]))
    except KeyError as exc:
        raise ForgeError(f"foundry.toml sets no invariant {exc.args[0]} for profile {profile!r}") from None


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ForgeError(f"unknown forge profile {profile!r}; use one of {', '.join(PROFILES)}")


def forge_env(profile: str = "default") -> dict[str, str]:
    """forge's environment: the profile, our solc shim, offline, and our build folders. Any other
    ``FOUNDRY_*``/``DAPP_*`` variable of the caller is dropped, so that a run is the profile's."""
    _check_profile(profile)
    out = forge_dir()
    out.mkdir(parents=True, exist_ok=True)
    shim = out / "solc"
    node, wrapper = shlex.quote(require_executable("node")), shlex.quote(str(solc_wrapper()))
    write_if_changed(shim, f"#!/bin/sh\nexec {node} {wrapper} \"$@\"\n", mode=0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOUNDRY_", "DAPP_"))}
    env.update(
        FOUNDRY_PROFILE=profile,
        FOUNDRY_SOLC=str(shim),
        FOUNDRY_OFFLINE="true",
        FOUNDRY_OUT=str(out / "out"),
        FOUNDRY_CACHE_PATH=str(out / "cache"),
        FOUNDRY_INVARIANT_FAILURE_PERSIST_DIR=str(out / "invariant"),
        NO_COLOR="1",
    )
    return env


@contextmanager
def _build_lock(*, exclusive: bool) -> Iterator[None]:
    """Held exclusively while forge compiles, shared while suites run: xdist workers and concurrent
    test runs share one artifacts folder, and a build must not rewrite it under a running suite."""
    with file_lock(forge_dir() / ".lock", exclusive=exclusive):
        yield


def build(*, timeout: float = BUILD_TIMEOUT_S) -> None:
    """Compile the contracts and the suites (a quick check when nothing changed)."""
    with _build_lock(exclusive=True):
        _build(timeout)


def _build(timeout: float) -> None:
    cmd = [str(forge_binary()), "build"]
    try:
        proc = subprocess.run(cmd, cwd=paths.project_root(), env=forge_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ForgeError(f"forge build did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise ForgeError(f"forge build failed (exit {proc.returncode}):\n"
                         f"{tail(proc.stdout + proc.stderr, 40)}")


def _forge_test(args: list[str], what: str, profile: str,
                timeout: float | None) -> tuple[int, dict[str, Any], float, str]:
    """``forge test ARGS --json`` after a build: its exit code, JSON report, wall time and stderr."""
    timeout = timeout if timeout is not None else RUN_TIMEOUT_S[profile]
    env = forge_env(profile)
    cmd = [str(forge_binary()), "test", *args, "--json"]
    with _build_lock(exclusive=True):
        _build(BUILD_TIMEOUT_S)
    with _build_lock(exclusive=False):
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=paths.project_root(), env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ForgeError(f"forge test {what} ({profile}) did not finish within {timeout:.0f} s; "
                             "run it alone to see how long it takes") from None
        wall = time.monotonic() - start
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise ForgeError(f"forge test {what} ({profile}) gave no JSON report (exit {proc.returncode}):\n"
                         f"{tail(proc.stdout + proc.stderr, 40)}") from None
    return proc.returncode, report, wall, tail(proc.stderr, 10)


def run_suite(suite: str, *, profile: str = "default", timeout: float | None = None) -> SuiteRun:
    """Run every invariant of contract ``suite`` with ``profile``; compile first if needed."""
    returncode, report, wall, stderr = _forge_test(["--match-contract", f"^{re.escape(suite)}$"], suite,
                                                   profile, timeout)
    invariants = parse_report(report, suite)
    if not invariants:
        raise ForgeError(f"forge ran no invariant of {suite}: is it a contract in "
                         f"{SUITES_DIR}/**/{SUITE_GLOB} with invariant_* functions?")
    return SuiteRun(suite=suite, profile=profile, returncode=returncode, wall_s=wall,
                    invariants=invariants, stderr_tail=stderr)


def run_unit_tests(*, timeout: float | None = None) -> dict[str, str | None]:
    """Run the unit tests of ``foundry/`` (every ``*.t.sol`` that is not an invariant suite, such as the
    regressions the suites found): ``Contract.test()`` -> None when it passed, else forge's reason."""
    _, report, _, _ = _forge_test(["--no-match-path", f"**/{SUITE_GLOB}"], "unit tests", "default", timeout)
    results = {}
    for contract_id, data in report.items():
        for name, test in data.get("test_results", {}).items():
            key = f"{contract_id.rsplit(':', 1)[-1]}.{name}"
            results[key] = None if test.get("status") == "Success" else (test.get("reason") or "failed")
    if not results:
        raise ForgeError(f"forge found no unit test in {SUITES_DIR}/ (files *.t.sol outside {SUITE_GLOB})")
    return results


def parse_report(report: dict[str, Any], suite: str) -> list[InvariantResult]:
    """The invariant results of contract ``suite`` in ``forge test --json``'s report."""
    results = []
    for contract_id, data in report.items():
        if contract_id.rsplit(":", 1)[-1] != suite:
            continue
        for name, test in sorted(data.get("test_results", {}).items()):
            kind = test.get("kind") or {}
            inv = kind.get("Invariant") if isinstance(kind, dict) else None
            if inv is None:
                continue
            handlers = {key: HandlerMetrics(int(m["calls"]), int(m["reverts"]), int(m["discards"]))
                        for key, m in (inv.get("metrics") or {}).items()}
            results.append(InvariantResult(
                name=name, passed=test.get("status") == "Success", reason=test.get("reason"),
                runs=int(inv.get("runs", 0)), calls=int(inv.get("calls", 0)), handlers=handlers,
                counterexample=test.get("counterexample")))
    return results


def split_handler_key(key: str) -> tuple[str, str, str]:
    """forge's metrics key ``source:Contract.function`` as (source, contract, function)."""
    source, _, rest = key.rpartition(":")
    contract, _, function = rest.partition(".")
    return source, contract, function


def handler_actions(source: str, contract: str) -> list[str]:
    """The state-changing external functions of handler ``contract`` in ``source``, from forge's
    artifact: every one is an action its suite targets."""
    for path in sorted((forge_dir() / "out").rglob(f"{contract}.json")):
        artifact = json.loads(path.read_text())
        target = artifact.get("metadata", {}).get("settings", {}).get("compilationTarget", {})
        if target.get(source) == contract:
            return sorted(item["name"] for item in artifact.get("abi", []) if item.get("type") == "function"
                          and item.get("stateMutability") not in ("view", "pure"))
    raise ForgeError(f"no forge artifact of {source}:{contract} under {forge_dir() / 'out'}: build first")


def summary(run: SuiteRun) -> str:
    """A few lines: the verdict and wall time, then each invariant's campaign and handler successes."""
    lines = [f"{run.suite} [{run.profile}]: {'passed' if run.passed else 'FAILED'} in {run.wall_s:.1f} s"]
    for inv in run.invariants:
        lines.append(f"  {inv.name}: {inv.runs} runs, {inv.calls} calls"
                     + ("" if inv.passed else f" -- {inv.reason}"))
        names = {key: ".".join(split_handler_key(key)[1:]) for key in inv.handlers}
        width = max((len(name) for name in names.values()), default=0)
        for key, m in sorted(inv.handlers.items(), key=lambda item: names[item[0]]):
            lines.append(f"    {names[key]:<{width}}  {m.successes:>8} of {m.calls:>8} calls succeeded")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gpubarter.toolchain.forge [--profile default|ci] [SUITE ...]``: run the suites
    (all by default) and print their verdicts; exit 1 when one fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    profile = "default"
    if "--profile" in args:
        i = args.index("--profile")
        if i + 1 >= len(args):
            print("error: --profile needs a value (default or ci)", file=sys.stderr)
            return 2
        profile = args[i + 1]
        del args[i:i + 2]
    ok = True
    try:
        for suite in args or suites():
            run = run_suite(suite, profile=profile)
            print(summary(run), flush=True)
            for inv in run.invariants:
                if not inv.passed:
                    print(inv.describe_failure(), flush=True)
            ok = ok and run.passed
    except ForgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
