"""Static analysis: slither (in its own environment, web3 7) on the contracts, held against
``security/slither-triage.toml``. Every high or medium finding in our contracts is either fixed
or suppressed there with a reason, and every suppression still matches a finding.

slither analyses the protocol in about half a minute (2 cores). Its environment is built on
first use, here, not in conftest's pytest_configure: no other module needs it, so building it
there would hold every xdist worker back on a fresh clone instead of one.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gpubarter import paths
from gpubarter.toolchain import slither
from gpubarter.toolchain.slither import (
    Finding,
    SlitherError,
    Suppression,
    Triage,
    check,
    load_triage,
    parse_report,
    run_slither,
)

VAULT = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

contract Vault {
    IERC20 private immutable _token;

    constructor(IERC20 token_) {
        _token = token_;
    }

    // unchecked-transfer (high): the bool that transfer returns is dropped.
    function pay(address to, uint256 amount) external {
        _token.transfer(to, amount);
    }

    // OpenZeppelin's Math.mulDiv brings OpenZeppelin's own findings along.
    function share(uint256 a, uint256 b, uint256 c) external pure returns (uint256) {
        return Math.mulDiv(a, b, c);
    }
}
"""


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    """slither's high and medium findings on the project's contracts. slither runs with a fresh
    HOME that must stay empty (solc-select, which it imports, would make ~/.solc-select there);
    its environment is built first, with the real HOME, where uv keeps its cache."""
    slither.ensure_slither_env()
    home = tmp_path_factory.mktemp("user-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        found = run_slither()
    assert list(home.iterdir()) == [], "slither wrote into the user's HOME"
    return found


@pytest.mark.slow
def test_slither_finds_no_high_or_medium_finding_that_is_not_triaged(findings: list[Finding]):
    verdict = check(findings, load_triage())
    assert not verdict.unexpected, verdict.report()


@pytest.mark.slow
def test_every_suppression_still_matches_a_finding(findings: list[Finding]):
    verdict = check(findings, load_triage())
    assert not verdict.stale, verdict.report()


@pytest.mark.slow
def test_slither_analyses_the_contracts_and_what_they_import(findings: list[Finding]):
    """An empty analysis would pass the triage too: OpenZeppelin's Math findings show that the
    imports were compiled, and every suppression matching (above) that our contracts were."""
    assert any(f.path.startswith("node_modules/@openzeppelin/") for f in findings)
    assert all(f.impact in ("High", "Medium") for f in findings)


# --- a scratch project in a folder with dots and a space, as under a user's home ----------------


@pytest.fixture(scope="module")
def dotted_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project root and slither's environment, both below ``john.doe/GPU Barter.v2``."""
    root = tmp_path_factory.mktemp("home") / "john.doe" / "GPU Barter.v2"
    root.mkdir(parents=True)
    (root / "node_modules").symlink_to(paths.node_modules(), target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GPUBARTER_SLITHER_DIR", str(root / ".gpubarter" / "slither-0.11.6"))
        yield root


@pytest.fixture
def dotted(dotted_root: Path) -> Path:
    """That project with an empty contracts/ folder."""
    shutil.rmtree(dotted_root / "contracts", ignore_errors=True)
    (dotted_root / "contracts").mkdir()
    return dotted_root


@pytest.mark.slow
def test_slither_runs_in_a_project_whose_path_has_dots_and_spaces(dotted: Path):
    (dotted / "contracts" / "Vault.sol").write_text(VAULT)
    found = run_slither(dotted)
    ours = [f for f in found if not f.path.startswith("node_modules/")]
    assert [(f.detector, f.impact, f.subject, f.path) for f in ours] == [
        ("unchecked-transfer", "High", "Vault.pay", "contracts/Vault.sol")]
    assert ours[0].lines == (15, 17)

    exclude_oz = load_triage().exclude
    verdict = check(found, Triage(exclude=exclude_oz, suppress=()))
    assert verdict.unexpected == ours
    assert {f.path for f, _ in verdict.excluded} == {
        "node_modules/@openzeppelin/contracts/utils/math/Math.sol"}
    report = verdict.report()
    assert "High unchecked-transfer at contracts/Vault.sol#15-17 (Vault.pay)" in report
    assert "Vault.pay(address,uint256) (contracts/Vault.sol#15-17) ignores return value" in report

    pay = Suppression("unchecked-transfer", "Vault", "pay", None, "a test")
    assert check(found, Triage(exclude=exclude_oz, suppress=(pay,))).ok


@pytest.mark.slow
def test_a_contract_that_does_not_compile_fails_with_the_compilers_message(dotted: Path):
    (dotted / "contracts" / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\n"
        "contract Broken { function f() external { undeclared = 1; } }\n")
    with pytest.raises(SlitherError, match=r"(?s)slither failed: .*Undeclared identifier.*Broken.sol:3:43"):
        run_slither(dotted)


def test_ensure_slither_env_says_when_uv_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GPUBARTER_SLITHER_DIR", str(tmp_path / "slither"))
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SlitherError, match="`uv` was not found on PATH"):
        slither.ensure_slither_env(quiet=True)
    assert not (tmp_path / "slither").exists()


def test_concurrent_callers_build_the_environment_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two callers at once (xdist workers, two test runs): one builds under the file lock, the
    other waits for it and finds it built. (flock locks conflict between threads too: each
    call opens the lock file anew.)"""
    monkeypatch.setenv("GPUBARTER_SLITHER_DIR", str(tmp_path / "slither.env"))
    builds: list[int] = []

    def fake_install(env: slither.SlitherEnv, uv: str, *, quiet: bool) -> None:
        builds.append(threading.get_ident())
        time.sleep(0.3)
        env.python.parent.mkdir(parents=True)
        env.python.touch()
        env.stamp.write_text(slither._stamp_text())

    monkeypatch.setattr(slither, "_install", fake_install)
    with ThreadPoolExecutor(2) as pool:
        envs = list(pool.map(lambda _: slither.ensure_slither_env(quiet=True), range(2)))
    assert len(builds) == 1
    assert envs[0] == envs[1]
    assert envs[0].solc.read_text().startswith("#!/bin/sh\nexec node ")


# --- the triage logic on slither reports made by hand ------------------------------------------


def _mapping(path: str, lines: list[int]) -> dict[str, Any]:
    return {"filename_relative": path, "filename_absolute": f"/home/j.doe/gpu.barter/{path}",
            "lines": lines}


def _result(check_: str, impact: str, element: dict[str, Any], text: str = "") -> dict[str, Any]:
    return {"check": check_, "impact": impact, "confidence": "Medium", "elements": [element],
            "description": text or f"{check_} here\n\t- and there\n"}


def _function(contract: str, name: str, path: str, lines: list[int]) -> dict[str, Any]:
    return {"type": "function", "name": name, "source_mapping": _mapping(path, lines),
            "type_specific_fields": {"parent": {"type": "contract", "name": contract,
                                                "source_mapping": _mapping(path, [1, 99])}}}


def _local(contract: str, function: str, name: str, path: str, line: int) -> dict[str, Any]:
    return {"type": "variable", "name": name, "source_mapping": _mapping(path, [line]),
            "type_specific_fields": {"parent": _function(contract, function, path, [line - 2, line + 9])}}


def _report(*results: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "error": None, "results": {"detectors": list(results)}}


REPORT = _report(
    _result("reentrancy-no-eth", "Medium", _function("Jobs", "claim", "contracts/Jobs.sol", [40, 52])),
    _result("uninitialized-local", "Medium", _local("Jobs", "claim", "paid", "contracts/Jobs.sol", 44)),
    _result("uninitialized-local", "Medium", _local("Jobs", "claim", "left", "contracts/Jobs.sol", 45)),
    _result("incorrect-exp", "High",
            _function("Math", "mulDiv", "node_modules/@openzeppelin/Math.sol", [1, 9])),
    _result("timestamp", "Low", _function("Jobs", "open", "contracts/Jobs.sol", [60, 70])),
    _result("locked-ether", "Medium", {"type": "contract", "name": "Till",
                                       "source_mapping": _mapping("contracts/Till.sol", [3, 30])}),
)
OZ = slither.Exclusion("node_modules/@openzeppelin/", "upstream")


def test_parse_report_locates_each_finding_by_contract_function_and_variable():
    found = parse_report(REPORT)
    assert [(f.detector, f.subject, f.path, f.lines) for f in found] == [
        ("reentrancy-no-eth", "Jobs.claim", "contracts/Jobs.sol", (40, 52)),
        ("uninitialized-local", "Jobs.claim.paid", "contracts/Jobs.sol", (44, 44)),
        ("uninitialized-local", "Jobs.claim.left", "contracts/Jobs.sol", (45, 45)),
        ("incorrect-exp", "Math.mulDiv", "node_modules/@openzeppelin/Math.sol", (1, 9)),
        ("timestamp", "Jobs.open", "contracts/Jobs.sol", (60, 70)),
        ("locked-ether", "Till", "contracts/Till.sol", (3, 30)),
    ]
    assert found[1].location == "contracts/Jobs.sol#44 (Jobs.claim.paid)"


def test_check_lists_each_unexpected_finding_with_detector_location_and_description():
    verdict = check(parse_report(REPORT), Triage(exclude=(OZ,), suppress=()))
    assert [f.subject for f in verdict.unexpected] == [
        "Jobs.claim", "Jobs.claim.paid", "Jobs.claim.left", "Till"]
    assert [f.subject for f, _ in verdict.excluded] == ["Math.mulDiv"]  # low impact is not gated
    assert not verdict.ok
    report = verdict.report(Path("security/slither-triage.toml"))
    assert "4 unexpected high/medium finding(s)" in report
    assert "  - Medium reentrancy-no-eth at contracts/Jobs.sol#40-52 (Jobs.claim):\n" \
           "      reentrancy-no-eth here\n      - and there" in report
    assert "  - Medium locked-ether at contracts/Till.sol#3-30 (Till):" in report


def test_a_suppression_is_keyed_by_detector_contract_function_and_optionally_variable():
    triage = Triage(exclude=(OZ,), suppress=(
        Suppression("reentrancy-no-eth", "Jobs", "claim", None, "trusted callee"),
        Suppression("uninitialized-local", "Jobs", "claim", "paid", "zero on purpose"),
        Suppression("locked-ether", "Till", None, None, "a till"),
    ))
    verdict = check(parse_report(REPORT), triage)
    # the entry for `paid` does not cover another uninitialised local of the same function
    assert [f.subject for f in verdict.unexpected] == ["Jobs.claim.left"]
    assert [(f.subject, s.reason) for f, s in verdict.suppressed] == [
        ("Jobs.claim", "trusted callee"), ("Jobs.claim.paid", "zero on purpose"), ("Till", "a till")]
    assert verdict.stale == []


def test_a_suppression_that_matches_no_finding_is_stale():
    gone = Suppression("unused-return", "Jobs", "claim", None, "push's return value is not needed")
    verdict = check(parse_report(REPORT), Triage(exclude=(OZ,), suppress=(gone,)))
    assert verdict.stale == [gone]
    assert "  - unused-return Jobs.claim: push's return value is not needed" in verdict.report()


def test_parse_report_says_why_slither_failed():
    with pytest.raises(SlitherError, match="slither failed: Invalid compilation"):
        parse_report({"success": False, "error": "Invalid compilation", "results": {}})


@pytest.mark.parametrize(("entry", "error"), [
    ('detector = "x"\ncontract = "C"\nfunction = "f"', r"entry 1 lacks \['reason'\]"),
    ('detector = "x"\ncontract = "C"\nreason = ""', "reason must be a non-empty one-line string"),
    ('detector = "x"\ncontract = "C"\nreason = """two\nlines"""', "one-line string"),
    ('detector = "x"\ncontract = "C"\nline = "12"\nreason = "r"', r"unknown keys \['line'\]"),
])
def test_load_triage_refuses_a_malformed_suppression(tmp_path: Path, entry: str, error: str):
    path = tmp_path / "triage.toml"
    path.write_text(f"[[suppress]]\n{entry}\n")
    with pytest.raises(SlitherError, match=error):
        load_triage(path)


def test_load_triage_refuses_a_suppression_listed_twice(tmp_path: Path):
    path = tmp_path / "triage.toml"
    entry = '[[suppress]]\ndetector = "x"\ncontract = "C"\nfunction = "f"\nreason = "r"\n'
    path.write_text(entry + entry)
    with pytest.raises(SlitherError, match=r"\[\[suppress\]\] x C.f is listed twice"):
        load_triage(path)


def test_the_projects_triage_file_gives_every_entry_a_reason():
    triage = load_triage()
    assert any(e.path == "node_modules/@openzeppelin/" for e in triage.exclude)
    assert all(entry.reason for entry in (*triage.exclude, *triage.suppress))
