"""Foundry invariant suites (``foundry/**/*.invariant.t.sol``), run by forge from npm.

Each suite runs once, with foundry.toml's ``default`` profile (a short campaign that still catches a
regression) or, when ``CI=true``, the ``ci`` profile: 10,000 sequences of depth 50 per invariant.
A suite passes when forge exits 0, every invariant held, every invariant ran the profile's whole
campaign (``runs`` sequences of ``depth`` calls), and every handler action succeeded at least once
over the campaign: a handler function reverts when it did nothing (foundry/base/HandlerBase.sol),
so forge's per-selector metrics count its successes, and an action that never succeeds tested
nothing.

One test class per suite, made below: the suite runs in a class-scoped fixture and the checks are
separate tests of the class. pytest-xdist's ``--dist=loadscope`` keeps a class on one worker and
spreads the classes, so suites run side by side (a parametrized test would keep them on one).

    uv run pytest tests/test_invariants.py             # default profile
    CI=true uv run pytest tests/test_invariants.py     # ci profile
    uv run python -m gpubarter.toolchain.forge         # the same runs, with each handler's counts

The unit tests beside the suites (foundry/lifecycle/Regressions.t.sol: the minimal sequences of the
violations the suites found) run here too, once, with the default profile.
"""

from __future__ import annotations

import os

import pytest

from gpubarter.toolchain import forge

PROFILE = "ci" if os.environ.get("CI", "").strip().lower() == "true" else "default"


def _run(suite: str) -> forge.SuiteRun:
    run = forge.run_suite(suite, profile=PROFILE)
    print(forge.summary(run))  # shown with -s, and with the failure of any check of this suite
    return run


class InvariantSuite:
    """The checks of one suite; subclasses below name the suite."""

    suite: str

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls) -> forge.SuiteRun:
        return _run(cls.suite)

    def test_forge_exits_cleanly(self, run: forge.SuiteRun):
        assert run.returncode == 0, f"forge exited {run.returncode}:\n{run.stderr_tail}"

    def test_every_invariant_holds(self, run: forge.SuiteRun):
        failures = [inv.describe_failure() for inv in run.invariants if not inv.passed]
        assert not failures, "\n".join(failures)

    def test_every_invariant_ran_the_whole_campaign(self, run: forge.SuiteRun):
        wanted = forge.campaign(PROFILE)
        short = [f"{inv.name}: {inv.runs} runs, {inv.calls} calls"
                 for inv in run.invariants
                 if inv.runs < wanted.runs or inv.calls < wanted.runs * wanted.depth]
        assert not short, (f"profile {PROFILE} asks {wanted.runs} runs of depth {wanted.depth}; "
                           f"these fell short: {short}")

    def test_every_handler_action_succeeded(self, run: forge.SuiteRun):
        for inv in run.invariants:
            handlers = {forge.split_handler_key(key)[:2] for key in inv.handlers}
            assert handlers, f"{inv.name}: forge reported no handler calls"
            idle = []
            for source, contract in sorted(handlers):
                for action in forge.handler_actions(source, contract):
                    metrics = inv.handlers.get(f"{source}:{contract}.{action}")
                    if metrics is None or metrics.successes == 0:
                        calls = metrics.calls if metrics else 0
                        idle.append(f"{contract}.{action} ({calls} calls, none succeeded)")
            assert not idle, f"{inv.name}: handler actions that never succeeded: {', '.join(idle)}"


@pytest.mark.slow
def test_the_regressions_the_suites_found_stay_fixed():
    """foundry/lifecycle/Regressions.t.sol: each minimal sequence of a violation a suite found."""
    results = forge.run_unit_tests()
    regressions = [name for name in results if name.startswith("LifecycleRegressions.")]
    assert len(regressions) >= 2, f"forge ran {sorted(results)}"
    failed = {name: reason for name, reason in results.items() if reason is not None}
    assert not failed, failed


def test_suites_are_found():
    assert {"CreditExchangeInvariants", "DataCooperativeInvariants"} <= set(forge.suites())


def test_ci_profile_asks_ten_thousand_sequences_of_depth_fifty():
    assert forge.campaign("ci") == forge.Campaign(runs=10_000, depth=50)
    assert forge.campaign("default").depth == 50


def test_report_gives_verdicts_handler_counts_and_the_failing_sequence():
    handler = "foundry/x/H.sol:H"
    report = {"foundry/x/S.t.sol:S": {"test_results": {
        "invariant_a()": {"status": "Failure", "reason": "sum differs: 1 != 0",
                          "counterexample": {"Sequence": [1, [{"contract_name": handler, "func_name": "pay",
                                                               "args": "7"}]]},
                          "kind": {"Invariant": {"runs": 3, "calls": 150, "reverts": 2, "metrics": {
                              f"{handler}.pay": {"calls": 100, "reverts": 2, "discards": 1},
                              f"{handler}.warp": {"calls": 50, "reverts": 0, "discards": 0}}}}},
        "test_unit()": {"status": "Success", "kind": {"Unit": {"gas": 1}}},
    }}, "foundry/x/T.t.sol:T": {"test_results": {}}}
    [inv] = forge.parse_report(report, "S")
    assert not inv.passed and (inv.runs, inv.calls) == (3, 150)
    assert inv.handlers[f"{handler}.pay"].successes == 97
    assert forge.split_handler_key(f"{handler}.pay") == ("foundry/x/H.sol", "H", "pay")
    assert inv.describe_failure() == "invariant_a() failed: sum differs: 1 != 0\n  H.pay(7)"
    assert forge.parse_report(report, "T") == []


def test_unknown_profile_is_refused():
    with pytest.raises(forge.ForgeError, match="unknown forge profile 'fast'"):
        forge.forge_env("fast")


for _suite in forge.suites():
    _name = f"Test{_suite}"
    globals()[_name] = type(_name, (InvariantSuite,), {"suite": _suite, "__module__": __name__,
                                                       "pytestmark": [pytest.mark.slow]})
