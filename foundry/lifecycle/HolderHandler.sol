// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ComputeTypes} from "contracts/types/ComputeTypes.sol";

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";

/// @title HolderHandler
/// @notice The credit holders and their jobs: open jobs (which must never need anything of the provider: H-1),
/// close them, and claim after a default (which must always pay the whole collateral of the unserved credits,
/// or return them on a frozen series).
contract HolderHandler is LifecycleHandler {
    uint256 public constant MAX_JOBS = 24;

    /// @notice Compensation paid to holders for defaults, in CPT wei.
    uint256 public ghostCompensation;

    constructor(Protocol memory p, LifecycleStore store_) LifecycleHandler(p, store_) {}

    /// @notice A holder opens a job on a series it holds credits of. On a live series that is not frozen,
    /// with Jobs not paused, it must succeed whatever the provider did with its stake.
    function open(uint256 holderSeed, uint256 seriesSeed, uint256 amountSeed) external {
        if (store.jobCount() >= MAX_JOBS) revert HandlerNothingToDo("job cap reached");
        (address holder, uint256 seriesId) = _holding(holderSeed, seriesSeed, LIVE);
        uint256 balance = credits.balanceOf(holder, seriesId);
        uint256 amount = bound(amountSeed, 1, balance);
        ComputeTypes.Series memory s = credits.seriesOf(seriesId);
        bool mustOpen = !_paused() && block.timestamp < s.end && !s.frozen;

        vm.prank(holder);
        try jobs.open(seriesId, amount, "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq") returns (
            uint256 jobId
        ) {
            _check(mustOpen, "open: a job opened on an ended or frozen series, or while paused");
            store.debit(holder, seriesId, amount);
            store.addJob(jobId);
            _check(credits.balanceOf(holder, seriesId) == balance - amount, "open: the holder's credits moved wrongly");
        } catch (bytes memory err) {
            if (mustOpen) {
                // H-1: an outstanding credit of a live series must always be redeemable.
                _check(false, _because("open refused on a live series", err));
                return;
            }
            revert HandlerNothingToDo("open refused, as it must be");
        }
    }

    /// @notice Anyone settles a closing job (with `wait`, once its settlement time came), or, one call in four, the
    /// holder closes its running job (an acknowledged one starts closing). Unused credits return to the holder.
    function close(uint256 jobSeed, bool wait) external {
        uint256 mask = _mask(ComputeTypes.JobStatus.Closing);
        if (_sub(jobSeed, 0) % 4 == 0) {
            mask |= _mask(ComputeTypes.JobStatus.Opened) | _mask(ComputeTypes.JobStatus.Acknowledged);
        }
        (uint256 jobId, bool matched) = _jobIn(jobSeed, mask);
        ComputeTypes.Job memory job = jobs.jobOf(jobId);
        // Another job than asked for is tried only when it must be refused (it has ended).
        if (!matched && _running(job.status)) revert HandlerNothingToDo("the holder keeps its job running");
        if (job.status == ComputeTypes.JobStatus.Closing && wait) _warpTo(job.deadline);
        address caller = job.status == ComputeTypes.JobStatus.Closing ? _holder(jobSeed >> 8) : job.holder;
        uint256 balance = credits.balanceOf(job.holder, job.seriesId);

        vm.prank(caller);
        jobs.close(jobId);

        ComputeTypes.Job memory after_ = jobs.jobOf(jobId);
        if (after_.status == ComputeTypes.JobStatus.Closed) {
            uint256 returned = after_.maxSeconds - after_.usedSeconds;
            store.credit(job.holder, job.seriesId, returned);
            _check(
                credits.balanceOf(job.holder, job.seriesId) == balance + returned, "close: unused credits not returned"
            );
            _check(jobs.holdsOf(jobId) == 0, "close: a held job closed");
        } else {
            _check(after_.status == ComputeTypes.JobStatus.Closing, "close: neither closed nor closing");
            _check(after_.cutoff <= job.cutoff, "close: a closing job takes usage later than before");
        }
    }

    /// @notice The holder claims after a default (with `wait`, time passes until it may). A defaulted job with
    /// no usage held must always be claimable, and pays the unserved credits' whole collateral (rate plus
    /// penalty) from the provider's locked stake; on a frozen series the credits return instead.
    function claim(uint256 jobSeed, bool wait) external {
        uint256 mask = _mask(ComputeTypes.JobStatus.Opened) | _mask(ComputeTypes.JobStatus.Acknowledged);
        (uint256 jobId,) = _jobIn(jobSeed, mask);
        ComputeTypes.Job memory job = jobs.jobOf(jobId);
        uint256 claimableAt = job.status == ComputeTypes.JobStatus.Opened ? uint256(job.ackDeadline) + 1 : job.cutoff;
        if (wait) _warpTo(claimableAt);
        bool mustPay = _running(job.status) && job.status != ComputeTypes.JobStatus.Closing
            && block.timestamp >= claimableAt && jobs.holdsOf(jobId) == 0;
        ClaimContext memory ctx = _claimContext(job);

        vm.prank(job.holder);
        try jobs.claim(jobId) {
            _check(mustPay, "claim: a job that had not defaulted was claimed");
            _afterClaim(jobId, job, ctx);
        } catch (bytes memory err) {
            if (mustPay) {
                _check(false, _because("claim refused on a defaulted job", err));
                return;
            }
            revert HandlerNothingToDo("not claimable, as it must be");
        }
    }

    struct ClaimContext {
        uint256 holderCpt;
        uint256 holderCredits;
        uint256 perCredit;
        uint256 locked;
        bool frozen;
        address provider;
    }

    function _claimContext(ComputeTypes.Job memory job) private view returns (ClaimContext memory ctx) {
        ctx.holderCpt = token.balanceOf(job.holder);
        ctx.holderCredits = credits.balanceOf(job.holder, job.seriesId);
        ctx.perCredit = credits.collateralPerCredit(job.seriesId);
        ctx.frozen = credits.isFrozen(job.seriesId);
        ctx.provider = credits.jobTermsOf(job.seriesId).provider;
        ctx.locked = registry.providerOf(ctx.provider).locked;
    }

    function _afterClaim(uint256 jobId, ComputeTypes.Job memory job, ClaimContext memory ctx) private {
        uint256 unserved = job.maxSeconds - job.usedSeconds;
        _check(jobs.jobOf(jobId).status == ComputeTypes.JobStatus.Refunded, "claim: the job is not refunded");
        if (ctx.frozen) {
            store.credit(job.holder, job.seriesId, unserved);
            _check(
                credits.balanceOf(job.holder, job.seriesId) == ctx.holderCredits + unserved,
                "claim on a frozen series: credits not returned"
            );
            _check(token.balanceOf(job.holder) == ctx.holderCpt, "claim on a frozen series paid CPT");
        } else {
            uint256 paid = unserved * ctx.perCredit;
            ghostCompensation += paid;
            _check(
                token.balanceOf(job.holder) == ctx.holderCpt + paid, "claim: not paid the unserved credits' collateral"
            );
            _check(
                registry.providerOf(ctx.provider).locked + paid == ctx.locked,
                "claim: paid from other than locked stake"
            );
        }
    }
}

/// @title CreditHandler
/// @notice The credit holders' credits: burn their own expired credits, transfer them; and, as attackers, try to
/// burn or move credits that are not theirs (H-2): those succeed when the protocol refuses them.
contract CreditHandler is LifecycleHandler {
    constructor(Protocol memory p, LifecycleStore store_) LifecycleHandler(p, store_) {}

    /// @notice A holder burns some of its own expired credits (its consent: it is the caller).
    function burnExpired(uint256 holderSeed, uint256 seriesSeed, uint256 amountSeed) external {
        (address holder, uint256 seriesId) = _holding(holderSeed, seriesSeed, ENDED);
        uint256 amount = bound(amountSeed, 1, credits.balanceOf(holder, seriesId));
        vm.prank(holder);
        credits.burnExpired(holder, seriesId, amount);
        store.debit(holder, seriesId, amount);
    }

    /// @notice A holder transfers credits to another holder.
    function transfer(uint256 holderSeed, uint256 seriesSeed, uint256 toSeed, uint256 amountSeed) external {
        (address from, uint256 seriesId) = _holding(holderSeed, seriesSeed, ANY);
        address to = _holder(toSeed);
        uint256 amount = bound(amountSeed, 1, credits.balanceOf(from, seriesId));
        vm.prank(from);
        credits.safeTransferFrom(from, to, seriesId, amount, "");
        store.debit(from, seriesId, amount);
        store.credit(to, seriesId, amount);
    }

    /// @notice Someone without the holder's consent (another holder, a provider, the keeper) tries to burn a
    /// holder's or the Jobs custody's expired credits, or to move them: a success when refused (H-2).
    function burnWithoutConsent(uint256 victimSeed, uint256 seriesSeed, uint256 attackerSeed, bool move) external {
        address victim = victimSeed % 3 == 0 ? address(jobs) : _holder(victimSeed);
        uint256 seriesId = _victimSeries(victim, seriesSeed);
        uint256 balance = credits.balanceOf(victim, seriesId);
        address attacker = attackerSeed % 2 == 0 ? _holder(attackerSeed >> 1) : _provider(attackerSeed >> 1);
        if (attacker == victim || credits.isApprovedForAll(victim, attacker)) revert HandlerNothingToDo("consented");

        vm.prank(attacker);
        if (move) {
            try credits.safeTransferFrom(victim, attacker, seriesId, balance, "") {
                _check(false, "credits moved without their holder's consent");
                return;
            } catch {}
        } else {
            try credits.burnExpired(victim, seriesId, balance) {
                _check(false, "credits burned without their holder's consent");
                return;
            } catch {}
        }
    }

    /// @dev A series `victim` holds credits of, preferring an ended one (burning it is then possible at all).
    function _victimSeries(address victim, uint256 seed) private view returns (uint256 seriesId) {
        uint256 n = store.seriesCount();
        if (n == 0) revert HandlerNothingToDo("no series yet");
        uint256 held;
        for (uint256 i; i < n; ++i) {
            uint256 id = store.seriesIds((seed + i) % n);
            if (credits.balanceOf(victim, id) == 0) continue;
            if (block.timestamp >= credits.seriesOf(id).end) return id;
            held = id;
        }
        if (held == 0) revert HandlerNothingToDo("the victim holds none");
        return held;
    }
}
