// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IBarterEscrow} from "contracts/interfaces/IBarterEscrow.sol";
import {IComputeCredits} from "contracts/interfaces/IComputeCredits.sol";
import {IDatasetRegistry} from "contracts/interfaces/IDatasetRegistry.sol";
import {IJobs} from "contracts/interfaces/IJobs.sol";
import {IMeteringOracle} from "contracts/interfaces/IMeteringOracle.sol";
import {IProviderRegistry} from "contracts/interfaces/IProviderRegistry.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";

import {HandlerBase} from "../base/HandlerBase.sol";
import {LifecycleStore} from "./LifecycleStore.sol";

/// @notice The deployed protocol as the lifecycle handlers see it.
struct Protocol {
    address admin; // governance: pauser, arbiter, settlement grace
    IERC20 token;
    IProviderRegistry registry;
    IComputeCredits credits;
    IJobs jobs;
    IMeteringOracle oracle;
    IDatasetRegistry datasets;
    IBarterEscrow escrow;
}

/// @title LifecycleHandler
/// @notice What the lifecycle handlers (one per actor) share: the protocol, the store, picking helpers.
abstract contract LifecycleHandler is HandlerBase {
    address internal immutable admin;
    IERC20 internal immutable token;
    IProviderRegistry internal immutable registry;
    IComputeCredits internal immutable credits;
    IJobs internal immutable jobs;
    IMeteringOracle internal immutable oracle;
    IDatasetRegistry internal immutable datasets;
    IBarterEscrow internal immutable escrow;
    LifecycleStore public immutable store;

    constructor(Protocol memory p, LifecycleStore store_) {
        admin = p.admin;
        token = p.token;
        registry = p.registry;
        credits = p.credits;
        jobs = p.jobs;
        oracle = p.oracle;
        datasets = p.datasets;
        escrow = p.escrow;
        store = store_;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       PICKING
    //////////////////////////////////////////////////////////////////////////*/

    function _series(uint256 seed) internal view returns (uint256) {
        return store.seriesIds(_index(seed, store.seriesCount(), "no series yet"));
    }

    function _job(uint256 seed) internal view returns (uint256) {
        return store.jobIds(_index(seed, store.jobCount(), "no job yet"));
    }

    function _holder(uint256 seed) internal view returns (address) {
        return store.holders(_index(seed, store.holderCount(), "no holder"));
    }

    function _provider(uint256 seed) internal view returns (address) {
        return store.providers(_index(seed, store.providerCount(), "no provider"));
    }

    /// @dev A registered provider, searched from `seed`.
    function _registeredProvider(uint256 seed) internal view returns (address provider) {
        uint256 n = store.providerCount();
        for (uint256 i; i < n; ++i) {
            provider = store.providers((seed + i) % n);
            if (registry.isRegistered(provider)) return provider;
        }
        revert HandlerNothingToDo("no registered provider");
    }

    /// @dev A job searched from `seed` whose status is in `mask` (bit i: JobStatus i); with `seed % 8 == 0`, or
    /// when none is, any job (so that refusals are tried too).
    function _jobIn(uint256 seed, uint256 mask) internal view returns (uint256 jobId, bool matched) {
        uint256 n = store.jobCount();
        if (n == 0) revert HandlerNothingToDo("no job yet");
        if (seed % 8 != 0) {
            for (uint256 i; i < n; ++i) {
                jobId = store.jobIds((seed + i) % n);
                if (mask & (1 << uint8(jobs.jobOf(jobId).status)) != 0) return (jobId, true);
            }
        }
        jobId = store.jobIds(seed % n);
        matched = mask & (1 << uint8(jobs.jobOf(jobId).status)) != 0;
    }

    uint8 internal constant ANY = 0;
    uint8 internal constant LIVE = 1; // window open, not frozen
    uint8 internal constant ENDED = 2;

    /// @dev A holder and a series it holds credits of, searched from the seeds, preferring a series in `mode`
    /// (one pick in eight, or when there is none, any series).
    function _holding(uint256 holderSeed, uint256 seriesSeed, uint8 mode) internal view returns (address, uint256) {
        if (seriesSeed % 8 != 0 && mode != ANY) {
            (bool found, address h, uint256 id) = _search(holderSeed, seriesSeed, mode);
            if (found) return (h, id);
        }
        (bool any, address holder, uint256 seriesId) = _search(holderSeed, seriesSeed, ANY);
        if (!any) revert HandlerNothingToDo("no holder holds credits");
        return (holder, seriesId);
    }

    function _search(uint256 holderSeed, uint256 seriesSeed, uint8 mode)
        internal
        view
        returns (bool found, address holder, uint256 seriesId)
    {
        uint256 holders = store.holderCount();
        uint256 series = store.seriesCount();
        for (uint256 i; i < holders; ++i) {
            holder = store.holders((holderSeed + i) % holders);
            for (uint256 j; j < series; ++j) {
                seriesId = store.seriesIds((seriesSeed + j) % series);
                if (credits.balanceOf(holder, seriesId) != 0 && _inMode(seriesId, mode)) {
                    return (true, holder, seriesId);
                }
            }
        }
    }

    function _inMode(uint256 seriesId, uint8 mode) internal view returns (bool) {
        if (mode == ANY) return true;
        ComputeTypes.Series memory s = credits.seriesOf(seriesId);
        if (mode == ENDED) return block.timestamp >= s.end;
        return block.timestamp < s.end && !s.frozen;
    }

    /// @dev A deal in `status`, searched from `seed`.
    function _dealIn(uint256 seed, BarterTypes.DealStatus status) internal view returns (uint256) {
        uint256 n = store.dealCount();
        for (uint256 i; i < n; ++i) {
            uint256 dealId = store.dealIds((seed + i) % n);
            if (escrow.dealOf(dealId).status == status) return dealId;
        }
        revert HandlerNothingToDo("no deal in that status");
    }

    /// @dev Whether Jobs is paused (IJobs does not declare `paused()`).
    function _paused() internal view returns (bool) {
        (bool ok, bytes memory out) = address(jobs).staticcall(abi.encodeWithSignature("paused()"));
        return ok && abi.decode(out, (bool));
    }

    /// @dev Bit masks of job statuses for {_jobIn}.
    function _mask(ComputeTypes.JobStatus a) internal pure returns (uint256) {
        return 1 << uint8(a);
    }

    function _running(ComputeTypes.JobStatus status) internal pure returns (bool) {
        return status == ComputeTypes.JobStatus.Opened || status == ComputeTypes.JobStatus.Acknowledged
            || status == ComputeTypes.JobStatus.Closing;
    }

    /// @dev Whether the job takes usage now (what {IJobs-applyUsage} checks, but the pause).
    function _takesUsage(ComputeTypes.Job memory job) internal view returns (bool) {
        return (job.status == ComputeTypes.JobStatus.Acknowledged || job.status == ComputeTypes.JobStatus.Closing)
            && block.timestamp < job.cutoff;
    }

    /// @dev Sub-seed `k` of `seed`: independent of the others (forge's fuzzer favours small and edge values, whose
    /// shifted bits would all be zero).
    function _sub(uint256 seed, uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, k)));
    }

    /// @dev Time passes to `when` (never backwards), unless that is beyond the store's longest wait.
    function _warpTo(uint256 when) internal {
        _warpWithin(when, store.maxWait());
    }

    /// @dev Time passes to `when` (never backwards), unless that is more than `most` seconds ahead.
    function _warpWithin(uint256 when, uint256 most) internal {
        if (when > block.timestamp && when - block.timestamp <= most) vm.warp(when);
    }

    /// @dev The 4-byte selector of revert data, for messages.
    function _selector(bytes memory err) internal pure returns (bytes4) {
        return err.length >= 4 ? bytes4(err) : bytes4(0);
    }

    /// @dev `what` with the revert selector of `err`, for a violation message.
    function _because(string memory what, bytes memory err) internal pure returns (string memory) {
        return string.concat(what, " (revert ", vm.toString(abi.encodePacked(_selector(err))), ")");
    }
}
