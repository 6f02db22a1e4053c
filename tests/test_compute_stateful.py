"""Random sequences of provider, holder and meter actions against the real anvil chain, with the
compute side's invariants checked after every step (hypothesis ``RuleBasedStateMachine``).

Each example starts from the same chain state (``evm_snapshot`` / ``evm_revert``). Every action
is predicted to succeed or to be refused with a named error; the model then follows the chain.
The run fails when some rule never once succeeded (``state_machines.Outcomes``).

Invariants:
- locked stake of each provider = Σ collateral of its series, and each series' collateral covers its
  outstanding credits (after its end: the credits locked in jobs) at the collateral per credit (rate plus
  penalty);
- minted = outstanding + burned for every series, and the outstanding credits are exactly the
  balances of all holders plus the Jobs contract's custody (nothing lost or created);
- the Jobs contract holds exactly the unused credits of running jobs, and delivered = Σ usage;
- CPT held by the registry = Σ (stake + unbonding), no stake below its locked part, and CPT is
  conserved across every account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from chain_checks import revert_to, take_snapshot
from compute_world import H100, SPEC, World
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from state_machines import Outcomes, run_machine

from gpubarter.deploy_plan import WAD
from gpubarter.protocol.credits import ComputeClient
from gpubarter.protocol.types import JobStatus, ProviderInfo

RUNNING = (JobStatus.OPENED, JobStatus.ACKNOWLEDGED, JobStatus.CLOSING)
#: GPU-seconds: mostly affordable, sometimes a whole balance, sometimes beyond 64 bits.
AMOUNTS = st.sampled_from([1, 60, 600, 3_600, 3_600, 36_000, 2**64])
UINT64_MAX = 2**64 - 1
#: A share of the sender's balance: small parts, all of it, more than it (refused), or 2^64.
SHARES = st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0, float("inf")])


def _share(balance: int, share: float) -> int:
    return 2**64 if share == float("inf") else max(1, int(balance * share))


@dataclass
class JobModel:
    series_id: int
    holder: ComputeClient
    max_seconds: int
    used: int = 0
    status: JobStatus = JobStatus.OPENED


@dataclass
class SeriesModel:
    provider: ComputeClient
    minted: int = 0
    burned: int = 0
    delivered: int = 0
    jobs: list[int] = field(default_factory=list)


def _per_credit(s) -> int:
    """CPT wei each credit of series ``s`` locks: its collateral rate plus the penalty on it."""
    return s.collateral_rate + s.collateral_rate * s.penalty_bps // 10_000


def _needed(s, custody: int, at: int) -> int:
    """Collateral series ``s`` must keep at time ``at``: every outstanding credit while its window is open,
    only those locked in jobs (``custody``) after it."""
    return (s.outstanding if at < s.end else custody) * _per_credit(s)


def make_machine(world: World, outcomes: Outcomes) -> type[RuleBasedStateMachine]:
    w = world
    providers = (w.provider, w.provider2)
    holders = (w.holder, w.other)
    jobs_address = w.deployment.address("Jobs")
    registry_address = w.deployment.address("ProviderRegistry")
    cpt_accounts = [c.sender.address for c in (w.gov, *providers, *holders, w.meter)] + [registry_address]
    grace = int(w.holder.jobs.functions.settlementGrace().call())
    total_cpt = sum(w.gov.cpt_balance(a) for a in cpt_accounts)

    class ComputeMachine(RuleBasedStateMachine):
        series = Bundle("series")
        jobs = Bundle("jobs")

        def __init__(self) -> None:
            super().__init__()
            self.snapshot = take_snapshot(w.w3)
            self.model: dict[int, SeriesModel] = {}
            self.job_models: dict[int, JobModel] = {}

        def teardown(self) -> None:
            revert_to(w.w3, self.snapshot, [c.sender for c in (w.gov, *providers, *holders, w.meter)])

        @initialize(target=series)
        def existing_series(self) -> int:
            s = w.holder.series(w.series_id)
            self.model[w.series_id] = SeriesModel(w.provider, minted=s.minted, burned=s.burned)
            return w.series_id

        @initialize(target=jobs)
        def existing_jobs(self):
            """Every example starts with two jobs on the world series, one opened, one
            acknowledged, so the job rules always have something to act on."""
            ids = []
            for ack in (False, True):
                job_id = w.holder.open_job(w.series_id, 3_600, SPEC).value
                self.job_models[job_id] = JobModel(w.series_id, w.holder, 3_600)
                if ack:
                    w.provider.acknowledge(job_id)
                    self.job_models[job_id].status = JobStatus.ACKNOWLEDGED
                ids.append(job_id)
            return multiple(*ids)

        @staticmethod
        def _fit(drawn, candidates):
            """The newest of ``candidates`` (ids fit for an action), else the ``drawn`` one: rules with a
            ``fit`` flag act on a fit target half the time, so that each succeeds in a short run."""
            return max(candidates, default=drawn)

        # ---------------------------------------------------------------- providers

        @rule(p=st.sampled_from(providers), amount=st.sampled_from([1, 100 * WAD, 10**30]))
        def stake(self, p: ComputeClient, amount: int) -> None:
            error = None if p.cpt_balance() >= amount else "ERC20InsufficientBalance"
            if error:  # approve first so that the balance, not the allowance, is what fails
                p.sender.transact(p.token.functions.approve(registry_address, amount))
            outcomes.expect(lambda: p.stake(amount), error)

        @rule(p=st.sampled_from(providers), share=st.sampled_from([0.1, 0.5, 1.0, 2.0]))
        def unstake(self, p: ComputeClient, share: float) -> None:
            free = p.provider().free
            amount = max(1, int(free * share))
            outcomes.expect(
                lambda: p.request_unstake(amount),
                None if amount <= free else "ProviderRegistryInsufficientFreeStake",
            )

        @rule(p=st.sampled_from(providers), wait=st.booleans())
        def withdraw(self, p: ComputeClient, wait: bool) -> None:
            """The provider withdraws what it unbonds; sometimes it waits out the unbonding first (a
            provider that unbonds, or this one after it requests to unstake a tenth of its free stake)."""
            if wait:
                p = next((q for q in providers if q.provider().unbonding), p)
                free = p.provider().free
                if not p.provider().unbonding and free >= 10:
                    outcomes.expect(lambda: p.request_unstake(free // 10), None, rule="withdraw: unstake")
            info = p.provider()
            if wait and info.unbonding:
                w.travel_to(info.unbonding_end + 2)
            error = (
                "ProviderRegistryNothingToWithdraw"
                if info.unbonding == 0
                else "ProviderRegistryStillUnbonding"
                if w.now() + 1 < info.unbonding_end
                else None
            )
            if error != "ProviderRegistryStillUnbonding":  # the next block's time decides the edge
                outcomes.expect(p.withdraw, error)

        @rule(target=series, p=st.sampled_from(providers), days=st.sampled_from([1, 10, 40]))
        def create_series(self, p: ComputeClient, days: int) -> int:
            now = w.now()
            sid = p.create_series(H100.class_id, now, now + days * 86_400).value
            self.model[sid] = SeriesModel(p)
            outcomes.record()
            return sid

        @rule(sid=series, to=st.sampled_from(holders), amount=AMOUNTS)
        def mint(self, sid: int, to: ComputeClient, amount: int) -> None:
            m, s = self.model[sid], w.holder.series(sid)
            error = (
                "ComputeCreditsSeriesExpired"
                if w.now() + 1 >= s.end
                else "ComputeCreditsAmountOverflow"
                if amount > UINT64_MAX
                else "ProviderRegistryInsufficientFreeStake"
                if amount * _per_credit(s) > m.provider.provider().free
                else None
            )
            if w.now() + 1 == s.end:
                return  # the next block's time decides the edge
            if outcomes.expect(lambda: m.provider.mint(sid, amount, to.sender.address), error):
                m.minted += amount

        @rule(sid=series, fit=st.booleans())
        def release_collateral(self, sid: int, fit: bool) -> None:
            """Anyone releases the collateral a series no longer needs: of the drawn series, or (``fit``)
            of one that has some to release, or else of one with collateral once its window has ended."""
            if fit:
                now, custody = w.now(), lambda i: w.holder.credit_balance(i, jobs_address)
                releasable = [
                    i
                    for i in self.model
                    if w.holder.series(i).collateral > _needed(w.holder.series(i), custody(i), now + 2)
                ]
                sid = self._fit(sid, releasable or [i for i in self.model if w.holder.series(i).collateral])
                if not releasable:
                    w.travel_to(w.holder.series(sid).end + 2)
            s = w.holder.series(sid)
            if w.now() + 1 == s.end:
                return  # the next block's time decides which credits still need collateral
            error = (
                None
                if s.collateral > _needed(s, w.holder.credit_balance(sid, jobs_address), w.now() + 1)
                else "ComputeCreditsNothingToRelease"
            )
            outcomes.expect(lambda: w.other.release_collateral(sid), error)

        @rule(sid=series, holder=st.sampled_from(holders), wait=st.booleans())
        def burn_expired(self, sid: int, holder: ComputeClient, wait: bool) -> None:
            """The holder burns its expired credits; sometimes a holder of credits waits for the end of
            their series' window first."""
            if wait:
                held = [(i, h) for i in self.model for h in holders if h.credit_balance(i)]
                sid, holder = max(held, default=(sid, holder), key=lambda pair: pair[0])
                w.travel_to(w.holder.series(sid).end + 2)
            s, balance = w.holder.series(sid), holder.credit_balance(sid)
            if w.now() + 1 == s.end:
                return
            error = (
                "ComputeCreditsSeriesNotExpired"
                if w.now() + 1 < s.end
                else "ComputeCreditsZeroAmount"
                if balance == 0
                else None
            )
            # Only the holder (or its approved operator) may burn its credits (H-2).
            if outcomes.expect(lambda: holder.burn_expired(holder.sender.address, sid, balance or 0), error):
                self.model[sid].burned += balance

        # ------------------------------------------------------------------ holders

        @rule(
            sid=series,
            a=st.sampled_from(holders),
            b=st.sampled_from(holders),
            share=SHARES,
            fit=st.booleans(),
        )
        def transfer(self, sid: int, a: ComputeClient, b: ComputeClient, share: float, fit: bool) -> None:
            """A holder sends credits of the drawn series, or (``fit``) of one it holds."""
            if fit:
                sid = self._fit(sid, (i for i in self.model if a.credit_balance(i)))
            amount = _share(a.credit_balance(sid), share)
            error = None if a.credit_balance(sid) >= amount else "ERC1155InsufficientBalance"
            outcomes.expect(lambda: a.transfer(sid, b.sender.address, amount), error)

        @rule(target=jobs, sid=series, holder=st.sampled_from(holders), share=SHARES, fit=st.booleans())
        def open_job(self, sid: int, holder: ComputeClient, share: float, fit: bool):
            """A holder opens a job on the drawn series, or (``fit``) on a live one it holds credits of."""
            if fit:
                live = (
                    i for i in self.model if holder.credit_balance(i) and w.now() + 2 < w.holder.series(i).end
                )
                sid = self._fit(sid, live)
            amount = _share(holder.credit_balance(sid), share)
            s = w.holder.series(sid)
            if w.now() + 1 == s.end:
                return multiple()
            error = (
                "JobsAmountOverflow"
                if amount > UINT64_MAX
                else "ComputeCreditsSeriesExpired"
                if w.now() + 1 >= s.end
                else "ERC1155InsufficientBalance"
                if holder.credit_balance(sid) < amount
                else None
            )
            result = outcomes.expect(lambda: holder.open_job(sid, amount, SPEC), error)
            if not result:
                return multiple()
            job_id = result.returned.value
            self.job_models[job_id] = JobModel(sid, holder, amount)
            self.model[sid].jobs.append(job_id)
            return job_id

        @rule(job_id=jobs, fit=st.booleans())
        def acknowledge(self, job_id: int, fit: bool) -> None:
            """The provider acknowledges the drawn job, or (``fit``) one waiting in its ack window."""
            if fit:
                waiting = (
                    i
                    for i, j in self.job_models.items()
                    if j.status is JobStatus.OPENED and w.now() + 2 < w.holder.job(i).ack_deadline
                )
                job_id = self._fit(job_id, waiting)
            j, job = self.job_models[job_id], w.holder.job(job_id)
            if w.now() + 1 == job.ack_deadline + 1:
                return
            error = (
                "JobsInvalidStatus"
                if j.status is not JobStatus.OPENED
                else "JobsAckWindowEnded"
                if w.now() + 1 > job.ack_deadline
                else None
            )
            if outcomes.expect(lambda: self.model[j.series_id].provider.acknowledge(job_id), error):
                j.status = JobStatus.ACKNOWLEDGED

        @rule(job_id=jobs, seconds=AMOUNTS, fit=st.booleans())
        def apply_usage(self, job_id: int, seconds: int, fit: bool) -> None:
            """The meter lands usage on the drawn job, or (``fit``) on one running before its cutoff."""
            if fit:
                running = (
                    i
                    for i, j in self.job_models.items()
                    if j.status in (JobStatus.ACKNOWLEDGED, JobStatus.CLOSING)
                    and w.now() + 2 < w.holder.job(i).cutoff
                )
                job_id = self._fit(job_id, running)
            j, job = self.job_models[job_id], w.holder.job(job_id)
            nxt = w.now() + 1
            if nxt == job.cutoff:
                return  # the next block's time decides the edge
            error = (
                "JobsInvalidStatus"
                if j.status not in (JobStatus.ACKNOWLEDGED, JobStatus.CLOSING)
                else "JobsUsageTooLate"
                if nxt >= job.cutoff
                else None
            )
            if outcomes.expect(lambda: w.meter.apply_usage(job_id, seconds), error):
                applied = min(seconds, j.max_seconds - j.used)
                j.used += applied
                self.model[j.series_id].burned += applied
                self.model[j.series_id].delivered += applied
                if j.used == j.max_seconds:
                    j.status = JobStatus.SERVED

        @rule(job_id=jobs)
        def close(self, job_id: int) -> None:
            """The holder closes; a closing job is settled by anyone once its grace has passed."""
            j, job = self.job_models[job_id], w.holder.job(job_id)
            nxt, closer = w.now() + 1, j.holder
            if j.status is JobStatus.CLOSING:
                if nxt == job.deadline:
                    return  # the next block's time decides the edge
                closer = w.other
                error = None if nxt >= job.deadline else "JobsSettling"
            else:
                error = None if j.status in RUNNING else "JobsInvalidStatus"
            if outcomes.expect(lambda: closer.close(job_id), error):
                acked = j.status is JobStatus.ACKNOWLEDGED
                j.status = JobStatus.CLOSING if acked and grace else JobStatus.CLOSED

        @rule(job_id=jobs, wait=st.booleans())
        def claim(self, job_id: int, wait: bool) -> None:
            """The holder claims an unserved job, sometimes after waiting until it may."""
            j, job = self.job_models[job_id], w.holder.job(job_id)
            if wait and j.status is JobStatus.OPENED:
                w.travel_to(job.ack_deadline + 2)
            elif wait and j.status is JobStatus.ACKNOWLEDGED:
                w.travel_to(job.cutoff + 2)
            nxt = w.now() + 1
            if nxt in (job.ack_deadline + 1, job.cutoff):
                return
            if j.status is JobStatus.OPENED:
                error = None if nxt > job.ack_deadline else "JobsNotClaimable"
            elif j.status is JobStatus.ACKNOWLEDGED:
                error = None if nxt >= job.cutoff else "JobsNotClaimable"
            else:
                error = "JobsInvalidStatus"
            cpt, s = j.holder.cpt_balance(), w.holder.series(j.series_id)
            if outcomes.expect(lambda: j.holder.claim(job_id), error):
                j.status = JobStatus.REFUNDED
                unserved = j.max_seconds - j.used
                # The unserved credits are burned and their whole collateral paid to the holder (H-1).
                self.model[j.series_id].burned += unserved
                assert j.holder.cpt_balance() == cpt + unserved * _per_credit(s)

        @rule(seconds=st.sampled_from([60, 3_600, 86_400, 10 * 86_400]))
        def time_travel(self, seconds: int) -> None:
            w.travel(seconds)
            outcomes.record()

        # --------------------------------------------------------------- invariants

        @invariant()
        def books_balance(self) -> None:
            """All invariants at once, so that each series and stake is read once per step."""
            series = {sid: w.holder.series(sid) for sid in self.model}
            stakes = {
                p: ProviderInfo.decode(
                    p.sender.address,
                    w.holder.registry.functions.providerOf(p.sender.address).call(),
                    "",
                )
                for p in providers
            }
            running = [j for j in self.job_models.values() if j.status in RUNNING]

            # Locked stake = Σ series collateral; collateral covers every credit still owed something.
            now = w.now()
            for p, info in stakes.items():
                assert info.stake >= info.locked >= 0
                mine = [sid for sid, m in self.model.items() if m.provider is p]
                assert info.locked == sum(series[sid].collateral for sid in mine)
            for sid, s in series.items():
                assert s.collateral >= _needed(s, w.holder.credit_balance(sid, jobs_address), now)

                # Minted = outstanding + burned; outstanding = holders' balances + custody.
                m = self.model[sid]
                assert (s.minted, s.burned, s.delivered) == (m.minted, m.burned, m.delivered)
                assert s.minted == s.outstanding + s.burned
                custody = sum(j.max_seconds - j.used for j in running if j.series_id == sid)
                assert w.holder.credit_balance(sid, jobs_address) == custody
                assert sum(h.credit_balance(sid) for h in holders) + custody == s.outstanding

            # CPT: the registry holds Σ (stake + unbonding); no CPT appears or disappears.
            assert w.gov.cpt_balance(registry_address) == sum(i.stake + i.unbonding for i in stakes.values())
            assert sum(w.gov.cpt_balance(a) for a in cpt_accounts) == total_cpt

    return ComputeMachine


@pytest.mark.slow
def test_compute_state_machine(world: World) -> None:
    for p in (world.provider, world.provider2):  # some CPT left to stake during the run
        world.gov.sender.transact(world.gov.token.functions.transfer(p.sender.address, 1_000 * WAD))
    outcomes = Outcomes()
    machine = make_machine(world, outcomes)
    run_machine(machine, outcomes, examples=20, steps=12)
