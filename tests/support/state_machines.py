"""What a hypothesis state machine's run covered, and the check that it covered enough.

A state machine that predicts a refusal for every call proves nothing about the calls that
should succeed. Each rule records its outcome (``"succeeded"`` or the custom error it was refused
with) in an :class:`Outcomes`; at the end of the run :meth:`Outcomes.assert_every_rule_succeeded`
fails, with the table of outcomes, when some rule of the machine never once succeeded.

Hypothesis enables a random subset of the rules in each example (swarm testing) and draws some
rules far more often than others, so whether a rare rule succeeds within a few dozen examples
depends on the seed. :func:`run_machine` therefore runs the machine in batches, each with its own
fixed seed (0, 1, 2, ...), until every rule has succeeded or the batches run out: the run is
deterministic, replays exactly, and does not fail because one seed was unlucky. Set
``GPUBARTER_EXPLORE=1`` to start from a random seed instead (printed), to draw new sequences.
"""

from __future__ import annotations

import os
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chain_checks import reverts
from hypothesis import HealthCheck, event, seed, settings
from hypothesis.stateful import RULE_MARKER, RuleBasedStateMachine, get_state_machine_test

SUCCEEDED = "succeeded"


def machine_settings(examples: int, steps: int) -> settings:
    """Settings for a state machine on the real chain: ``examples`` runs of up to ``steps`` rules and
    no deadline (a transaction takes what it takes)."""
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def run_machine(
    machine: type[RuleBasedStateMachine], outcomes: Outcomes, *, examples: int, steps: int, batches: int = 6
) -> None:
    """Run ``machine`` (its invariants checked after every step) in batches of ``examples`` examples
    with seeds 0, 1, ... until every rule has succeeded; then fail if one never did."""
    first = random.randrange(2**32) if os.environ.get("GPUBARTER_EXPLORE") else 0
    for batch in range(batches):
        test = get_state_machine_test(machine, settings=machine_settings(examples, steps))
        print(f"{machine.__name__}: batch {batch + 1} of at most {batches}, seed {first + batch}")
        seed(first + batch)(test)()
        if not outcomes.never_succeeded(machine):
            break
    outcomes.assert_every_rule_succeeded(machine)


@dataclass(frozen=True)
class Result:
    """What :meth:`Outcomes.expect` saw: whether the call succeeded, and what it returned."""

    ok: bool
    returned: Any = None

    def __bool__(self) -> bool:
        return self.ok


def rules_of(machine: type[RuleBasedStateMachine]) -> list[str]:
    """The names of the rules of ``machine`` (its ``@rule`` methods, set-up rules excluded)."""
    return sorted(
        name
        for klass in machine.__mro__
        for name, member in vars(klass).items()
        if hasattr(member, RULE_MARKER)  # set by @rule; @initialize sets another
    )


class Outcomes:
    """A run's (rule, outcome) counts, also reported as hypothesis events."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def record(self, outcome: str = SUCCEEDED, rule: str | None = None) -> None:
        """Count ``outcome`` for ``rule`` (by default the function that called this)."""
        rule = rule or sys._getframe(1).f_code.co_name
        self.counts[(rule, outcome)] += 1
        event(f"{rule}: {outcome}")

    def expect(self, send: Callable[[], Any], error: str | None, rule: str | None = None) -> Result:
        """Run ``send``: it must succeed when ``error`` is None, else revert with that custom error.

        The outcome is counted for ``rule`` (by default the rule that called this)."""
        rule = rule or sys._getframe(1).f_code.co_name
        if error is None:
            returned = send()
            self.record(SUCCEEDED, rule)
            return Result(True, returned)
        reverts(send, error)
        self.record(error, rule)
        return Result(False)

    def table(self) -> str:
        return "\n".join(f"  {rule}: {outcome} x{n}" for (rule, outcome), n in sorted(self.counts.items()))

    def never_succeeded(self, machine: type[RuleBasedStateMachine]) -> list[str]:
        """The rules of ``machine`` that have not succeeded so far."""
        succeeded = {rule for (rule, outcome) in self.counts if outcome == SUCCEEDED}
        return [rule for rule in rules_of(machine) if rule not in succeeded]

    def assert_every_rule_succeeded(self, machine: type[RuleBasedStateMachine]) -> None:
        """Fail, naming them, when some rule of ``machine`` never succeeded during the run."""
        print(f"\noutcomes of {machine.__name__}:\n{self.table()}")  # shown with -s
        never = self.never_succeeded(machine)
        assert not never, f"rules that never succeeded: {', '.join(never)}\noutcomes:\n{self.table()}"
