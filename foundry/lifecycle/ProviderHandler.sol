// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";
import {SealedKeys} from "./SealedKeys.sol";

/// @title StakeHandler
/// @notice The providers' stake: register, stake, request unstake (all free stake, sometimes: the move of H-1,
/// right after selling credits), withdraw after unbonding. None of it may touch what credits lock.
contract StakeHandler is LifecycleHandler {
    string internal constant CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

    constructor(Protocol memory p, LifecycleStore store_) LifecycleHandler(p, store_) {}

    /// @notice A provider of the pool not registered yet registers.
    function register(uint256 providerSeed) external {
        uint256 n = store.providerCount();
        for (uint256 i; i < n; ++i) {
            address provider = store.providers((providerSeed + i) % n);
            if (registry.isRegistered(provider)) continue;
            vm.prank(provider);
            registry.register(CID);
            return;
        }
        revert HandlerNothingToDo("every provider is registered");
    }

    /// @notice A registered provider stakes 1 to 300 CPT (its CPT was funded and approved in setUp).
    function stake(uint256 providerSeed, uint256 amountSeed) external {
        address provider = _registeredProvider(providerSeed);
        uint256 amount = bound(amountSeed, 1e18, 300e18);
        ComputeTypes.Provider memory before = registry.providerOf(provider);
        vm.prank(provider);
        registry.stake(amount);
        ComputeTypes.Provider memory now_ = registry.providerOf(provider);
        _check(now_.stake == before.stake + amount && now_.locked == before.locked, "stake: stake or locked wrong");
    }

    /// @notice A provider moves free stake to unbonding: all of it one time in four (after selling credits,
    /// the move of H-1), else part of it. Never touches what credits lock.
    function requestUnstake(uint256 providerSeed, uint256 amountSeed) external {
        address provider = _registeredProvider(providerSeed);
        uint256 free = registry.freeStakeOf(provider);
        if (free == 0) revert HandlerNothingToDo("no free stake");
        uint256 amount = amountSeed % 4 == 0 ? free : bound(amountSeed, 1, free);
        ComputeTypes.Provider memory before = registry.providerOf(provider);
        vm.prank(provider);
        registry.requestUnstake(amount);
        ComputeTypes.Provider memory now_ = registry.providerOf(provider);
        _check(now_.locked == before.locked, "requestUnstake changed the locked stake");
        _check(now_.unbonding == before.unbonding + amount, "requestUnstake: unbonding wrong");
    }

    /// @notice A provider withdraws what finished unbonding; with `wait`, time passes to the unbonding end.
    function withdraw(uint256 providerSeed, bool wait) external {
        address provider = _registeredProvider(providerSeed);
        ComputeTypes.Provider memory p = registry.providerOf(provider);
        if (p.unbonding == 0) revert HandlerNothingToDo("nothing unbonding");
        if (wait) _warpTo(p.unbondingEnd);
        uint256 balance = token.balanceOf(provider);
        vm.prank(provider);
        registry.withdraw();
        _check(token.balanceOf(provider) == balance + p.unbonding, "withdraw paid other than the unbonding CPT");
    }
}

/// @title ProviderHandler
/// @notice The compute providers at work: create stake-backed series, mint credits to holders (up to the whole
/// free stake, sometimes), acknowledge jobs, and close the jobs of a frozen series (after its cooperative's
/// fault) without penalty.
contract ProviderHandler is LifecycleHandler {
    uint256 public constant MAX_STAKE_SERIES = 6;

    /// @notice Stake-backed series made by this handler.
    uint256 public stakeSeries;

    constructor(Protocol memory p, LifecycleStore store_) LifecycleHandler(p, store_) {}

    /// @notice A provider creates a stake-backed series whose window started up to a day ago or starts within
    /// a day, and lasts an hour to three days.
    function createSeries(uint256 providerSeed, uint256 classSeed, uint256 startSeed, uint256 lengthSeed) external {
        if (stakeSeries >= MAX_STAKE_SERIES) revert HandlerNothingToDo("series cap reached");
        address provider = _registeredProvider(providerSeed);
        uint256 start = block.timestamp - 1 days + bound(startSeed, 0, 2 days);
        uint256 end = start + bound(lengthSeed, 1 hours, 3 days);
        if (end <= block.timestamp) end = block.timestamp + 1 hours;
        vm.prank(provider);
        uint256 seriesId = credits.createSeries(uint16(bound(classSeed, 1, 3)), uint40(start), uint40(end));
        store.addSeries(seriesId);
        ++stakeSeries;
    }

    /// @notice The provider of a live stake-backed series mints credits to a holder: up to all its free stake
    /// allows one time in eight, else up to 20,000 GPU-seconds.
    function mint(uint256 seriesSeed, uint256 holderSeed, uint256 amountSeed) external {
        uint256 seriesId = _series(seriesSeed);
        ComputeTypes.Series memory s = credits.seriesOf(seriesId);
        if (s.backing != ComputeTypes.Backing.Stake || block.timestamp >= s.end) {
            revert HandlerNothingToDo("not a live stake-backed series");
        }
        uint256 perCredit = credits.collateralPerCredit(seriesId);
        uint256 affordable = registry.freeStakeOf(s.provider) / perCredit;
        if (affordable == 0) revert HandlerNothingToDo("no free stake to mint against");
        uint256 amount =
            amountSeed % 8 == 0 ? affordable : bound(amountSeed, 1, affordable < 20_000 ? affordable : 20_000);
        address holder = _holder(holderSeed);
        uint256 locked = registry.providerOf(s.provider).locked;

        vm.prank(s.provider);
        credits.mint(seriesId, holder, amount, "");

        store.credit(holder, seriesId, amount);
        _check(
            registry.providerOf(s.provider).locked == locked + amount * perCredit,
            "mint locked other than amount * collateralPerCredit"
        );
        _check(
            credits.seriesOf(seriesId).collateral == s.collateral + amount * perCredit,
            "mint: series collateral grew by other than amount * collateralPerCredit"
        );
    }

    /// @notice The provider acknowledges an opened job (mostly one still within its acknowledgement window).
    function acknowledge(uint256 jobSeed) external {
        uint256 jobId = _openedJob(jobSeed);
        address provider = credits.jobTermsOf(jobs.jobOf(jobId).seriesId).provider;
        vm.prank(provider);
        jobs.acknowledge(jobId);
    }

    /// @notice After its cooperative's fault (the series is frozen), the provider closes a running job at once:
    /// the unused credits return to the holder and nothing of the provider's stake moves.
    function closeFrozen(uint256 jobSeed) external {
        uint256 n = store.jobCount();
        for (uint256 i; i < n; ++i) {
            uint256 jobId = store.jobIds((jobSeed + i) % n);
            ComputeTypes.Job memory job = jobs.jobOf(jobId);
            if (!_running(job.status) || !credits.isFrozen(job.seriesId) || jobs.holdsOf(jobId) != 0) continue;
            address provider = credits.jobTermsOf(job.seriesId).provider;
            ComputeTypes.Provider memory before = registry.providerOf(provider);
            uint256 held = credits.balanceOf(job.holder, job.seriesId);

            vm.prank(provider);
            jobs.close(jobId);

            uint256 returned = job.maxSeconds - jobs.jobOf(jobId).usedSeconds;
            store.credit(job.holder, job.seriesId, returned);
            _check(jobs.jobOf(jobId).status == ComputeTypes.JobStatus.Closed, "closeFrozen: the job is not closed");
            _check(credits.balanceOf(job.holder, job.seriesId) == held + returned, "closeFrozen: credits not returned");
            _check(registry.providerOf(provider).stake == before.stake, "closeFrozen: the provider was penalised");
            return;
        }
        revert HandlerNothingToDo("no running job of a frozen series");
    }

    /// @dev An opened job, preferring one still within its acknowledgement window.
    function _openedJob(uint256 seed) private view returns (uint256) {
        uint256 n = store.jobCount();
        if (n == 0) revert HandlerNothingToDo("no job yet");
        uint256 fallback_;
        bool found;
        for (uint256 i; i < n; ++i) {
            uint256 jobId = store.jobIds((seed + i) % n);
            ComputeTypes.Job memory job = jobs.jobOf(jobId);
            if (job.status != ComputeTypes.JobStatus.Opened) continue;
            if (block.timestamp <= job.ackDeadline || seed % 8 == 0) return jobId;
            if (!found) (fallback_, found) = (jobId, true);
        }
        if (!found) revert HandlerNothingToDo("no opened job");
        return fallback_;
    }
}

/// @title DealProviderHandler
/// @notice The providers in barters: accept offers with a fresh per-deal key pair, and dispute released keys
/// (winning exactly when the key opened with the secret does not match the registry's commitment).
contract DealProviderHandler is LifecycleHandler {
    /// @notice The provider's secret for each accepted deal (its per-deal key pair).
    mapping(uint256 dealId => uint256) public secretOf;

    constructor(Protocol memory p, LifecycleStore store_) LifecycleHandler(p, store_) {}

    /// @notice A provider with enough free stake accepts an offer with a fresh per-deal key pair.
    function accept(uint256 dealSeed, uint256 providerSeed, uint256 secretSeed) external {
        uint256 dealId = _dealIn(dealSeed, BarterTypes.DealStatus.Offered);
        BarterTypes.Deal memory d = escrow.dealOf(dealId);
        address provider = _registeredProvider(providerSeed);
        uint256 secret = SealedKeys.scalar(secretSeed);
        (uint256 px, uint256 py) = SealedKeys.publicKey(secret);

        vm.prank(provider);
        uint256 seriesId = escrow.accept(dealId, px, py);

        secretOf[dealId] = secret;
        store.setPublicKey(dealId, px, py);
        store.addSeries(seriesId);
        store.credit(d.maker, seriesId, d.gpuSeconds);
        _check(credits.balanceOf(d.maker, seriesId) == d.gpuSeconds, "accept: the cooperative did not get the credits");
    }

    /// @notice The provider disputes a released key of its deal: it wins (bond, frozen series) exactly when the
    /// key it opens with its secret does not match the registry's commitment; a lost dispute pays its dispute
    /// bond to the cooperative.
    function dispute(uint256 dealSeed, uint256 stepSeed) external {
        uint256 dealId = _dealIn(dealSeed, BarterTypes.DealStatus.Accepted);
        BarterTypes.Deal memory d = escrow.dealOf(dealId);
        if (d.released == 0) revert HandlerNothingToDo("no key released");
        uint256 step = _disputedStep(dealId, d.released, stepSeed);
        LifecycleStore.Release memory r = store.releaseOf(dealId, step);
        uint256 secret = secretOf[dealId];
        bool wrong = SealedKeys.commitment(SealedKeys.open(secret, r.rx, r.ry, r.c, step))
            != datasets.commitment(d.datasetId, step - 1);
        _check(wrong != r.honest, "dispute: the provider opened other than the cooperative sealed");
        uint256 providerCpt = token.balanceOf(d.provider);
        uint256 makerCpt = token.balanceOf(d.maker);

        (uint256 px, uint256 py) = SealedKeys.publicKey(secret);
        vm.prank(d.provider);
        escrow.dispute(dealId, step, secret, px, py, r.rx, r.ry, r.c);

        BarterTypes.Deal memory after_ = escrow.dealOf(dealId);
        if (wrong) {
            _check(after_.status == BarterTypes.DealStatus.CooperativeFaulted, "dispute: a wrong key was not a fault");
            _check(credits.isFrozen(d.seriesId), "dispute: a won dispute did not freeze the series");
            _check(token.balanceOf(d.provider) == providerCpt + d.bond, "dispute: the provider did not get the bond");
        } else {
            _check(after_.status == BarterTypes.DealStatus.Accepted, "dispute: a right key ended the deal");
            uint256 disputeBond = escrow.disputeBond();
            _check(
                token.balanceOf(d.maker) == makerCpt + disputeBond, "dispute: the maker did not get the dispute bond"
            );
        }
    }

    /// @dev A released step to dispute: a wrong key if one was released (one pick in four: any step).
    function _disputedStep(uint256 dealId, uint256 released, uint256 seed) private view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 step = 1; step <= released; ++step) {
                if (!store.releaseOf(dealId, step).honest) return step;
            }
        }
        return bound(seed, 1, released);
    }
}
