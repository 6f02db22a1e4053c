"""slither, the static analyser, in an environment of its own, and the triage of its findings.

slither-analyzer 0.11.6 requires ``web3>=7.10,<8``, which cannot share an environment with this
project's web3 8, so slither lives in a separate virtual environment that
``ensure_slither_env()`` creates once with uv (seconds from uv's cache; reused afterwards):

    <state dir>/slither-<version>/venv   slither-analyzer and its dependencies, as pinned in
                                         slither-requirements.txt beside this file
    <state dir>/slither-<version>/solc   the solc slither calls: a shell script exec'ing
                                         ``node gpubarter/toolchain/solc_wrapper.js``

(``GPUBARTER_SLITHER_DIR`` moves that folder.) ``run_slither()`` analyses every
``contracts/**/*.sol`` in one standard-JSON compile with the OpenZeppelin remapping, from the
project root (``slither_runner.py``, in slither's environment, says why not through the
``slither`` command), and returns slither's findings. ``check()`` holds them against
``security/slither-triage.toml``: a high or medium finding that neither lies in a folder the
triage excludes nor is suppressed there with a reason is unexpected, and so is a suppression
that matches no finding any more.

    uv run python -m gpubarter.toolchain.slither [--all]   # the check tests/test_slither.py makes

Why not slither's own ``filter_paths`` for OpenZeppelin: slither drops a finding when *any* of
its elements lies in a filtered path, so a reentrancy in our code whose external call runs
through OpenZeppelin's ERC-1155 acceptance check would vanish with OpenZeppelin's own findings.
Here a finding belongs to the file of its subject (its first element) instead. Nor slither's
triage database (``slither.db.json``) or ``// slither-disable`` comments: the database keys
findings by a hash of their text, line numbers included, so any edit above a finding voids it,
and comments would put the reasons in the contracts, away from the one list reviewed here.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpubarter import paths
from gpubarter.errors import ToolchainError
from gpubarter.settings import settings
from gpubarter.toolchain import tool_venv
from gpubarter.toolchain.node import ensure_node_tools
from gpubarter.toolchain.solc import solc_wrapper
from gpubarter.toolchain.tool_venv import ToolVenv

#: Pinned, with all its dependencies (slither-requirements.txt): a new slither or crytic-compile
#: release brings new detectors and changes old ones, and the triage file lists what one version
#: finds, so an unpinned install would fail the test suite on a day nothing here changed. 0.11.6
#: is the version checked against this project's solc wrapper (TOOLCHAIN.md). Changing it builds
#: a new environment next to the old one; re-triage then.
SLITHER_VERSION = "0.11.6"
REQUIREMENTS = Path(__file__).with_name("slither-requirements.txt")
#: The remapping slither hands the compiler, relative to the project root.
REMAPS = "@openzeppelin/=node_modules/@openzeppelin/"
#: Runs slither inside its environment (see there why not the ``slither`` command).
RUNNER = Path(__file__).with_name("slither_runner.py")
#: The impacts the triage gates on; slither runs only these detectors unless asked for all.
GATED = ("High", "Medium")
#: A run of slither on the whole protocol takes about half a minute on 2 cores; it must not hang a caller.
TIMEOUT_S = 600


class SlitherError(ToolchainError):
    """slither's environment could not be built, slither failed, or the triage file is invalid."""


@dataclass(frozen=True)
class SlitherEnv(ToolVenv):
    """slither's venv and its solc shim. Its processes run with ``environ()``: the venv as
    ``VIRTUAL_ENV`` matters, as solc-select (which crytic-compile imports) makes its folder there
    instead of in the user's HOME."""

    @property
    def solc(self) -> Path:
        return self.root / "solc"


def env_dir() -> Path:
    return settings().toolchain.slither_dir or paths.state_dir() / f"slither-{SLITHER_VERSION}"


def _stamp_text() -> str:
    lock = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"slither-analyzer=={SLITHER_VERSION} python={platform.python_version()} lock={lock}\n"


def ensure_slither_env(*, quiet: bool = False) -> SlitherEnv:
    """Create slither's environment if it is missing or outdated (a quick check when installed); return it."""
    env = SlitherEnv(env_dir())
    tool_venv.build_once(env.root, lambda: env.is_installed(_stamp_text()),
                         lambda uv: _install(env, uv, quiet=quiet), tool="slither", error=SlitherError)
    tool_venv.write_if_changed(env.solc, "#!/bin/sh\n"
                               f"exec node {shlex.quote(str(solc_wrapper()))} \"$@\"\n", mode=0o755)
    return env


def _install(env: SlitherEnv, uv: str, *, quiet: bool) -> None:
    tool_venv.create_venv(env, uv, ["-r", str(REQUIREMENTS)], _stamp_text(),
                          tool=f"slither-analyzer {SLITHER_VERSION}", error=SlitherError, quiet=quiet)


# --- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One slither result, located by its subject: the first element slither lists."""

    detector: str
    impact: str
    confidence: str
    #: The contract and function the subject lies in (None where it lies outside any).
    contract: str | None
    function: str | None
    #: The subject when it is a variable (a local or a state variable), else None.
    variable: str | None
    #: The subject's file, relative to the project root, and its first and last line.
    path: str
    lines: tuple[int, int] | None
    description: str

    @property
    def subject(self) -> str:
        return ".".join(part for part in (self.contract, self.function, self.variable) if part)

    @property
    def location(self) -> str:
        where = self.path
        if self.lines:
            first, last = self.lines
            where += f"#{first}" if first == last else f"#{first}-{last}"
        return f"{where} ({self.subject})" if self.subject else where

    def __str__(self) -> str:
        text = "\n".join(f"      {line.strip()}" for line in self.description.strip().splitlines())
        return f"{self.impact} {self.detector} at {self.location}:\n{text}"


def _parent(element: dict[str, Any]) -> dict[str, Any] | None:
    return element.get("type_specific_fields", {}).get("parent")


def _finding(result: dict[str, Any]) -> Finding:
    elements = result.get("elements") or []
    subject = elements[0] if elements else {}
    contract = function = variable = None
    kind = subject.get("type")
    if kind == "variable":
        variable = subject.get("name")
    # Walk up from the subject: a node or local variable lies in a function, a function in a contract.
    node: dict[str, Any] | None = subject if kind != "variable" else _parent(subject)
    while node:
        if node.get("type") == "function" and function is None:
            function = node.get("name")
        elif node.get("type") == "contract":
            contract = node.get("name")
            break
        node = _parent(node)
    if kind == "contract":
        contract = subject.get("name")
    mapping = subject.get("source_mapping") or {}
    path = Path(mapping.get("filename_relative") or "unknown").as_posix().removeprefix("./")
    lines = mapping.get("lines") or []
    return Finding(detector=result["check"], impact=result["impact"],
                   confidence=result.get("confidence", ""), contract=contract, function=function,
                   variable=variable, path=path,
                   lines=(lines[0], lines[-1]) if lines else None,
                   description=result.get("description", ""))


def parse_report(report: dict[str, Any]) -> list[Finding]:
    """The findings of slither's ``--json`` report; raises SlitherError for a failed run."""
    if not report.get("success"):
        reason = str(report.get("error") or "no reason given").strip()
        raise SlitherError(f"slither failed: {reason}")
    return [_finding(r) for r in report.get("results", {}).get("detectors", [])]


def sources(root: Path) -> list[str]:
    """What slither analyses: every ``contracts/**/*.sol`` (the files ``gpubarter compile``
    builds), relative to ``root``, in one compile that also brings in what they import."""
    files = sorted(path.relative_to(root).as_posix() for path in (root / "contracts").rglob("*.sol"))
    if not files:
        raise SlitherError(f"no Solidity sources under {root / 'contracts'}")
    return files


def run_slither(root: Path | None = None, *, all_impacts: bool = False,
                timeout: float = TIMEOUT_S) -> list[Finding]:
    """Analyse ``root``'s contracts (default: this project's) and return slither's findings:
    only those of high and medium impact unless ``all_impacts``."""
    root = (root or paths.project_root()).resolve()
    ensure_node_tools(quiet=True)
    env = ensure_slither_env()
    cmd = [str(env.python), "-I", str(RUNNER), "--solc", str(env.solc), "--remap", REMAPS,
           *(["--all"] if all_impacts else []), *sources(root)]
    try:
        proc = subprocess.run(cmd, cwd=root, env=env.environ(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SlitherError(f"slither did not finish within {timeout:.0f} s") from None
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    if proc.returncode != 0 or not isinstance(report, dict):
        raise SlitherError(f"slither failed (exit {proc.returncode}) in {root}: "
                           f"{tool_venv.tail(proc.stderr, 20)}")
    return parse_report(report)


# --- triage -----------------------------------------------------------------------------------


def triage_file() -> Path:
    return paths.project_root() / "security" / "slither-triage.toml"


@dataclass(frozen=True)
class Exclusion:
    """A folder whose findings are not ours to triage (a dependency, bench or test contracts)."""

    path: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.path.startswith(self.path)


@dataclass(frozen=True)
class Suppression:
    """A finding judged a false positive: detector + contract + function (+ variable), no lines."""

    detector: str
    contract: str
    function: str | None
    variable: str | None
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (finding.detector == self.detector and finding.contract == self.contract
                and finding.function == self.function
                and (self.variable is None or finding.variable == self.variable))

    def __str__(self) -> str:
        subject = ".".join(part for part in (self.contract, self.function, self.variable) if part)
        return f"{self.detector} {subject}"


@dataclass(frozen=True)
class Triage:
    exclude: tuple[Exclusion, ...]
    suppress: tuple[Suppression, ...]


_EXCLUDE_KEYS = {"path", "reason"}
_SUPPRESS_KEYS = {"detector", "contract", "function", "variable", "reason"}


def load_triage(path: Path | None = None) -> Triage:
    """Read the triage file; a malformed entry raises SlitherError naming it."""
    path = path or triage_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SlitherError(f"{path} is missing: restore it from git") from None
    except tomllib.TOMLDecodeError as exc:
        raise SlitherError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"exclude", "suppress"}
    if unknown:
        raise SlitherError(f"{path}: unknown tables {sorted(unknown)} (expected exclude, suppress)")
    exclude = tuple(Exclusion(**_entry(path, "exclude", i, raw, _EXCLUDE_KEYS, {"path", "reason"}))
                    for i, raw in enumerate(data.get("exclude", []), 1))
    suppress = tuple(
        Suppression(**{"function": None, "variable": None,
                       **_entry(path, "suppress", i, raw, _SUPPRESS_KEYS,
                                {"detector", "contract", "reason"})})
        for i, raw in enumerate(data.get("suppress", []), 1))
    for kind, entries in (("exclude", exclude), ("suppress", suppress)):
        seen: set[object] = set()
        for entry in entries:
            key = entry.path if isinstance(entry, Exclusion) else str(entry)
            if key in seen:
                raise SlitherError(f"{path}: [[{kind}]] {key} is listed twice")
            seen.add(key)
    return Triage(exclude, suppress)


def _entry(path: Path, table: str, index: int, raw: Any, allowed: set[str],
           required: set[str]) -> dict[str, str]:
    where = f"{path}: [[{table}]] entry {index}"
    if not isinstance(raw, dict):
        raise SlitherError(f"{where} is not a table")
    if set(raw) - allowed:
        raise SlitherError(f"{where} has unknown keys {sorted(set(raw) - allowed)}")
    if required - set(raw):
        raise SlitherError(f"{where} lacks {sorted(required - set(raw))}")
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise SlitherError(f"{where}: {key} must be a non-empty one-line string")
    return dict(raw)


@dataclass
class Verdict:
    #: Gated findings of ours that no suppression covers: the check fails on each.
    unexpected: list[Finding] = field(default_factory=list)
    #: Suppressions that match no finding: the check fails on each, so the file stays true.
    stale: list[Suppression] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    excluded: list[tuple[Finding, Exclusion]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexpected and not self.stale

    def report(self, triage_path: Path | None = None) -> str:
        name = triage_path or triage_file()
        lines = [f"slither: {len(self.unexpected)} unexpected high/medium finding(s), "
                 f"{len(self.stale)} stale suppression(s), {len(self.suppressed)} suppressed, "
                 f"{len(self.excluded)} in excluded folders"]
        if self.unexpected:
            lines.append(f"Unexpected findings (fix the contract, or suppress a false positive in "
                         f"{name} with detector, contract, function and a one-line reason):")
            lines += [f"  - {finding}" for finding in self.unexpected]
        if self.stale:
            lines.append(f"Stale suppressions in {name} (they match no finding: remove them):")
            lines += [f"  - {entry}: {entry.reason}" for entry in self.stale]
        return "\n".join(lines)


def check(findings: Iterable[Finding], triage: Triage) -> Verdict:
    """Hold slither's findings against the triage."""
    verdict = Verdict()
    used: set[Suppression] = set()
    for finding in findings:
        if finding.impact not in GATED:
            continue
        exclusion = next((e for e in triage.exclude if e.covers(finding)), None)
        if exclusion:
            verdict.excluded.append((finding, exclusion))
            continue
        entry = next((s for s in triage.suppress if s.matches(finding)), None)
        if entry:
            used.add(entry)
            verdict.suppressed.append((finding, entry))
        else:
            verdict.unexpected.append(finding)
    verdict.unexpected.sort(key=lambda f: (f.path, f.lines or (0, 0), f.detector))
    verdict.stale = [entry for entry in triage.suppress if entry not in used]
    return verdict


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gpubarter.toolchain.slither [--all]``: run slither and check its findings
    against the triage; with ``--all`` also list every finding of any impact. Exit 1 on an
    unexpected finding or a stale suppression."""
    args = list(sys.argv[1:] if argv is None else argv)
    all_impacts = "--all" in args
    try:
        findings = run_slither(all_impacts=all_impacts)
        verdict = check(findings, load_triage())
    except SlitherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if all_impacts:
        for finding in findings:
            print(f"- {finding}")
    for finding, entry in verdict.suppressed:
        print(f"suppressed: {finding.impact} {finding.detector} at {finding.location}: {entry.reason}")
    print(verdict.report())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
