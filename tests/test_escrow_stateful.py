"""Random sequences of cooperative, provider and meter actions against the barter escrow on the
real anvil chain (hypothesis ``RuleBasedStateMachine``), with invariants checked after every step.

Every action is predicted to succeed or to be refused with a named error; the model follows. The run
fails when some rule never once succeeded (``state_machines.Outcomes``).

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
from chain_checks import revert_to, take_snapshot
from escrow_world import BOND, GPU_SECONDS, KEY_TIMEOUT, EscrowWorld, K
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from state_machines import SUCCEEDED, Outcomes, run_machine
from web3.logs import DISCARD

from gpubarter.protocol import sealing

OFFERED, CANCELLED, ACCEPTED, FAULTED = 1, 2, 3, 4


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


def make_machine(w: EscrowWorld, outcomes: Outcomes) -> type[RuleBasedStateMachine]:
    class EscrowMachine(RuleBasedStateMachine):
        deals = Bundle("deals")

        def __init__(self) -> None:
            super().__init__()
            self.snapshot = take_snapshot(w.w3)
            self.models: dict[int, DealModel] = {}
            self.claimed: Counter[int] = Counter()

        def teardown(self) -> None:
            senders = [c.sender for c in (w.gov, w.admin, w.provider, *w.members, w.meter, w.other)]
            revert_to(w.w3, self.snapshot, senders)

        @initialize(target=deals, gpu=st.sampled_from([400, GPU_SECONDS]))
        def accepted_deal(self, gpu: int) -> int:
            """Every example starts with one accepted deal, so the release rules have work."""
            deal_id = self._offer(gpu)
            self._accept(deal_id)
            return deal_id

        def _newest(self, status: int, default: int | None) -> int | None:
            """The newest deal in ``status``, else ``default``."""
            return max((d for d, m in self.models.items() if m.status == status), default=default)

        def _offer(self, gpu: int) -> int:
            deal_id = w.offer(gpu_seconds=gpu)
            self.models[deal_id] = DealModel(deal_id, gpu)
            return deal_id

        def _accept(self, deal: int) -> None:
            m, pair = self.models[deal], sealing.keygen()
            m.series_id = w.provider.accept(deal, pair.public).value
            m.status, m.pair = ACCEPTED, pair

        @rule(target=deals, gpu=st.sampled_from([K, 400, GPU_SECONDS]))
        def offer(self, gpu: int) -> int:
            deal_id = self._offer(gpu)
            outcomes.record()
            return deal_id

        @rule(deal=deals, newest_offer=st.booleans())
        def accept(self, deal: int, newest_offer: bool) -> None:
            """The provider accepts a deal: any deal drawn, or the newest one on offer (the cooperative
            offers one first when none is)."""
            if newest_offer:
                deal = self._newest(OFFERED, None) or self._offer(GPU_SECONDS)
            err = None if self.models[deal].status == OFFERED else "EscrowInvalidStatus"
            outcomes.expect(lambda: self._accept(deal), err)

        @rule(deal=deals, newest_offer=st.booleans())
        def cancel(self, deal: int, newest_offer: bool) -> None:
            """The cooperative cancels an offer: the drawn deal, or the newest one on offer (it offers one
            first when none is)."""
            if newest_offer:
                deal = self._newest(OFFERED, None) or self._offer(GPU_SECONDS)
            m = self.models[deal]
            err = None if m.status == OFFERED else "EscrowInvalidStatus"
            if outcomes.expect(lambda: w.admin.cancel_offer(w.coop, deal), err):
                m.status = CANCELLED

        @rule(deal=deals, part=st.sampled_from([1, 0.25, 0.5, 1.0]), newest=st.booleans())
        def deliver(self, deal: int, part: float, newest: bool) -> None:
            """The provider delivers GPU time on the drawn deal, or on the newest accepted one."""
            m = self.models[self._newest(ACCEPTED, deal) if newest else deal]
            wanted = part if isinstance(part, int) else max(1, int(m.gpu_seconds * part))
            if self._deliver(m, wanted):
                outcomes.record()

        def _deliver(self, m: DealModel, wanted: int) -> int:
            """Members run jobs on the deal's series and the meter lands up to ``wanted`` GPU-seconds."""
            if m.status != ACCEPTED or m.delivered >= m.gpu_seconds:
                return 0
            for who in w.members:
                self._claim(who)
            held = sum(who.credit_balance(m.series_id) for who in w.members)
            amount = min(held, m.gpu_seconds - m.delivered, wanted)
            if amount and not w.gov.series(m.series_id).frozen:
                w.deliver(m.series_id, amount)
                m.delivered += amount
                return amount
            return 0

        def _make_next_step_due(self, m: DealModel) -> None:
            """Deliver just enough GPU time for the deal's next step to fall due."""
            step = m.released + 1
            if step <= K and m.due() < step:
                self._deliver(m, -(-step * m.gpu_seconds // K) - m.delivered)

        @rule(deal=deals, right=st.booleans(), skip=st.sampled_from([0, 0, 1, -1]), due=st.booleans())
        def release(self, deal: int, right: bool, skip: int, due: bool) -> None:
            """The cooperative releases a step's key (right or wrong), sometimes once it has fallen due."""
            m = self.models[deal]
            if due:
                self._make_next_step_due(m)
            if m.status in (ACCEPTED, FAULTED):
                self._release(m, m.released + 1 + skip, right, "release")

        def _release(self, m: DealModel, step: int, right: bool, rule: str) -> bool:
            if step < 1:
                return False
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
            if outcomes.expect(lambda: w.admin.release(w.coop, m.deal_id, step, sealed), err, rule):
                m.released = step
                m.sealed[step] = (sealed, right)
                m.marked = step < K and m.due() >= step + 1
                return True
            return False

        @rule(deal=deals, due=st.booleans())
        def key_timeout(self, deal: int, due: bool) -> None:
            """Anyone marks the next step due; its key never comes: the bond goes to the provider. With
            ``due``, of the newest accepted deal, once its next step has fallen due."""
            if due:
                deal = self._newest(ACCEPTED, deal)
            m = self.models[deal]
            if due:
                self._make_next_step_due(m)
            if m.status != ACCEPTED:
                err = "EscrowInvalidStatus"
            elif m.marked:
                err = "EscrowAlreadyMarkedDue"
            elif m.released + 1 > m.due():
                err = "EscrowStepNotDue"
            else:
                err = None
            if outcomes.expect(lambda: w.other.mark_due(deal), err, rule="key_timeout: mark due"):
                m.marked = True
            if m.status == ACCEPTED and m.marked:
                w.travel(KEY_TIMEOUT + 1)
                outcomes.expect(lambda: w.other.claim_key_timeout(deal), None)
                m.status = FAULTED
                assert w.gov.series(m.series_id).frozen

        @rule(deal=deals, data=st.data())
        def dispute(self, deal: int, data: st.DataObject) -> None:
            """The provider disputes a released key; when none is released yet, the next step falls due
            and the cooperative releases its key (right or wrong) first."""
            m = self.models[deal]
            if m.status == ACCEPTED and not m.sealed:
                self._make_next_step_due(m)
                self._release(m, m.released + 1, data.draw(st.booleans()), "dispute: release")
            if m.status != ACCEPTED or not m.sealed:
                return
            step = data.draw(st.sampled_from(sorted(m.sealed)))
            sealed, right = m.sealed[step]
            # A lost dispute bars no later one; each lost one costs the provider the dispute bond.
            broke = right and w.cpt(w.provider.sender.address) < w.escrow.functions.disputeBond().call()
            err = "ERC20InsufficientBalance" if broke else None
            if outcomes.expect(lambda: w.provider.dispute(deal, step, m.pair, sealed), err):
                if right:
                    m.disputed = True
                else:
                    m.status = FAULTED
                outcomes.record("provider lost" if right else "provider won")

        @rule(member=st.integers(0, 2))
        def claim(self, member: int) -> None:
            outcomes.record(SUCCEEDED if self._claim(w.members[member]) else "nothing to claim")

        def _claim(self, who) -> int:
            """``who`` claims everything it is owed; returns how many claims it sent."""
            coop, txs = w.coop_contract, who.claim_all(w.coop)
            for tx in txs:
                for log in coop.events.Claimed().process_receipt(tx.receipt, errors=DISCARD):
                    dist = coop.functions.distributionOf(log["args"]["distributionId"]).call()
                    self.claimed[dist[0]] += log["args"]["amount"]
            return len(txs)

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
    outcomes = Outcomes()
    machine = make_machine(ew, outcomes)
    run_machine(machine, outcomes, examples=12, steps=10)
