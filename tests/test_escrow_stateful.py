"""Random sequences of cooperative, provider and meter actions against the barter escrow on the
real anvil chain (hypothesis ``RuleBasedStateMachine``), with invariants checked after every step.

Every action is predicted to succeed or to be refused with a named error; the model follows.

Invariants:
- keys released <= steps due, for every deal;
- CPT held by the escrow = Σ bonds of open deals (offered or accepted);
- credits minted to a deal's series = its GPU-seconds;
- members' claims never exceed what the cooperative received, series by series, and the
  cooperative holds exactly the rest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
from escrow_world import BOND, GPU_SECONDS, KEY_TIMEOUT, EscrowWorld, K
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.logs import DISCARD

from gpubarter.chain.revert import error_name
from gpubarter.errors import TransactionReverted
from gpubarter.protocol import sealing

OFFERED, CANCELLED, ACCEPTED, FAULTED = 1, 2, 3, 4
OUTCOMES: Counter[tuple[str, str]] = Counter()


@dataclass
class DealModel:
    deal_id: int
    gpu_seconds: int
    status: int = OFFERED
    series_id: int = 0
    pair: sealing.KeyPair | None = None
    delivered: int = 0
    released: int = 0
    sealed: dict[int, tuple[sealing.SealedKey, bool]] = field(default_factory=dict)  # step -> (sealed, right)
    disputed: bool = False
    marked: bool = False  # the next step is marked due (its key-release clock runs)

    def due(self) -> int:
        return min(K, self.delivered * K // self.gpu_seconds)


def expect(rule_name: str, error: str | None, send) -> bool:
    """Run ``send``; it must succeed when ``error`` is None, else revert with ``error``."""
    try:
        send()
    except TransactionReverted as exc:
        assert error is not None and error_name(exc.reason) == error, exc.reason
        OUTCOMES[(rule_name, error)] += 1
        return False
    assert error is None, f"{rule_name}: expected {error}"
    OUTCOMES[(rule_name, "ok")] += 1
    return True


def make_machine(w: EscrowWorld) -> type[RuleBasedStateMachine]:
    class EscrowMachine(RuleBasedStateMachine):
        deals = Bundle("deals")

        def __init__(self) -> None:
            super().__init__()
            self.snapshot = w.w3.provider.make_request("evm_snapshot", [])["result"]
            self.models: dict[int, DealModel] = {}
            self.claimed: Counter[int] = Counter()

        def teardown(self) -> None:
            w.w3.provider.make_request("evm_revert", [self.snapshot])
            for c in (w.gov, w.admin, w.provider, *w.members, w.meter, w.other):
                c.sender.reset_nonce()

        @initialize(target=deals, gpu=st.sampled_from([400, GPU_SECONDS]))
        def accepted_deal(self, gpu: int) -> int:
            """Every example starts with one accepted deal, so the release rules have work."""
            deal_id = self.offer(gpu)
            self.accept(deal_id)
            return deal_id

        @rule(target=deals, gpu=st.sampled_from([K, 400, GPU_SECONDS]))
        def offer(self, gpu: int) -> int:
            deal_id = w.offer(gpu_seconds=gpu)
            self.models[deal_id] = DealModel(deal_id, gpu)
            return deal_id

        @rule(deal=deals)
        def accept(self, deal: int) -> None:
            m = self.models[deal]
            pair = sealing.keygen()
            err = None if m.status == OFFERED else "EscrowInvalidStatus"
            accept = w.provider.accept
            if expect("accept", err, lambda: setattr(m, "series_id", accept(deal, pair.public).value)):
                m.status, m.pair = ACCEPTED, pair

        @rule(deal=deals)
        def cancel(self, deal: int) -> None:
            m = self.models[deal]
            err = None if m.status == OFFERED else "EscrowInvalidStatus"
            if expect("cancel", err, lambda: w.admin.cancel_offer(w.coop, deal)):
                m.status = CANCELLED

        @rule(deal=deals, part=st.sampled_from([1, 0.25, 0.5, 1.0]))
        def deliver(self, deal: int, part: float) -> None:
            m = self.models[deal]
            if m.status != ACCEPTED or m.delivered >= m.gpu_seconds:
                return
            for who in w.members:
                self._claim(who)
            held = sum(who.credit_balance(m.series_id) for who in w.members)
            wanted = part if isinstance(part, int) else max(1, int(m.gpu_seconds * part))
            amount = min(held, m.gpu_seconds - m.delivered, wanted)
            if amount and not w.gov.series(m.series_id).frozen:
                w.deliver(m.series_id, amount)
                m.delivered += amount
                OUTCOMES[("deliver", "ok")] += 1

        @rule(deal=deals, right=st.booleans(), skip=st.sampled_from([0, 0, 1, -1]))
        def release(self, deal: int, right: bool, skip: int) -> None:
            m = self.models[deal]
            if m.status == OFFERED or m.status == CANCELLED:
                return
            step = m.released + 1 + skip
            if step < 1:
                return
            key = w.keys[step - 1] if right and step <= K else b"\x07" * 32
            sealed = sealing.seal(key, m.pair.public, step) if m.pair else None
            if m.status != ACCEPTED:
                err = "EscrowInvalidStatus"
            elif step <= m.released:
                err = "EscrowStepAlreadyReleased"
            elif step > m.released + 1:
                err = "EscrowStepOutOfOrder"
            elif step > m.due():
                err = "EscrowStepNotDue"
            else:
                err = None
            if expect("release", err, lambda: w.admin.release(w.coop, deal, step, sealed)):
                m.released = step
                m.sealed[step] = (sealed, right)
                m.marked = step < K and m.due() >= step + 1

        @rule(deal=deals)
        def key_timeout(self, deal: int) -> None:
            """Anyone marks the next step due; its key never comes: the bond goes to the provider."""
            m = self.models[deal]
            if m.status != ACCEPTED:
                err = "EscrowInvalidStatus"
            elif m.marked:
                err = "EscrowAlreadyMarkedDue"
            elif m.released + 1 > m.due():
                err = "EscrowStepNotDue"
            else:
                err = None
            if expect("mark due", err, lambda: w.other.mark_due(deal)):
                m.marked = True
            if m.status == ACCEPTED and m.marked:
                w.travel(KEY_TIMEOUT + 1)
                expect("claim key timeout", None, lambda: w.other.claim_key_timeout(deal))
                m.status = FAULTED
                assert w.gov.series(m.series_id).frozen

        @rule(deal=deals, data=st.data())
        def dispute(self, deal: int, data: st.DataObject) -> None:
            m = self.models[deal]
            if m.status != ACCEPTED or not m.sealed:
                return
            step = data.draw(st.sampled_from(sorted(m.sealed)))
            sealed, right = m.sealed[step]
            # A lost dispute bars no later one; each lost one costs the provider the dispute bond.
            broke = right and w.cpt(w.provider.sender.address) < w.escrow.functions.disputeBond().call()
            err = "ERC20InsufficientBalance" if broke else None
            if expect("dispute", err, lambda: w.provider.dispute(deal, step, m.pair, sealed)):
                if right:
                    m.disputed = True
                else:
                    m.status = FAULTED
                OUTCOMES[("dispute", "provider lost" if right else "provider won")] += 1

        @rule(member=st.integers(0, 2))
        def claim(self, member: int) -> None:
            self._claim(w.members[member])

        def _claim(self, who) -> None:
            coop = w.coop_contract
            for tx in who.claim_all(w.coop):
                for log in coop.events.Claimed().process_receipt(tx.receipt, errors=DISCARD):
                    dist = coop.functions.distributionOf(log["args"]["distributionId"]).call()
                    self.claimed[dist[0]] += log["args"]["amount"]

        @invariant()
        def keys_released_never_exceed_steps_due(self) -> None:
            for m in self.models.values():
                if m.series_id:
                    assert m.released <= w.escrow.functions.dueSteps(m.deal_id).call()
                assert w.escrow.functions.dealOf(m.deal_id).call()[3] == m.released

        @invariant()
        def escrow_holds_exactly_the_open_bonds(self) -> None:
            open_deals = [m for m in self.models.values() if m.status in (OFFERED, ACCEPTED)]
            assert w.cpt(w.escrow.address) == BOND * len(open_deals)

        @invariant()
        def credits_minted_equal_gpu_seconds(self) -> None:
            for m in self.models.values():
                if m.series_id:
                    assert w.gov.series(m.series_id).minted == m.gpu_seconds

        @invariant()
        def claims_never_exceed_what_the_cooperative_received(self) -> None:
            coop = w.coop_contract.functions
            received: Counter[int] = Counter()
            for dist in range(1, coop.distributionCount().call() + 1):
                series_id, amount, _ = coop.distributionOf(dist).call()
                received[series_id] += amount
            for series_id, amount in received.items():
                assert self.claimed[series_id] <= amount
                assert w.gov.credit_balance(series_id, w.coop) == amount - self.claimed[series_id]

    return EscrowMachine


@pytest.mark.slow
def test_escrow_state_machine(ew: EscrowWorld) -> None:
    run_state_machine_as_test(
        make_machine(ew),
        settings=settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print("\noutcomes:", ", ".join(f"{r} {o}: {n}" for (r, o), n in sorted(OUTCOMES.items())))
