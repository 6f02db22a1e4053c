// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {IJobs} from "./interfaces/IJobs.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";

/// @title Jobs
/// @notice See the documentation in {IJobs}.
/// @dev Every external call goes to the protocol's own ComputeCredits and ProviderRegistry, which call no
/// untrusted code on these paths (custody moves skip the ERC-1155 acceptance check), so the order of
/// effects and these calls cannot be exploited by reentrancy.
contract Jobs is IJobs, AccessControl, Pausable {
    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobs
    bytes32 public constant override METERING_ROLE = keccak256("METERING_ROLE");
    /// @inheritdoc IJobs
    bytes32 public constant override PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant BPS = 10_000;
    uint256 private constant MAX_CID_LENGTH = 128;
    uint40 private constant MAX_SETTLEMENT_GRACE = 30 days;
    uint256 private constant MAX_USAGE_BATCH = 500;

    /// @inheritdoc IJobs
    IComputeCredits public immutable override credits;
    /// @inheritdoc IJobs
    IProviderRegistry public immutable override registry;

    uint40 private _settlementGrace;

    /// @dev Starts at 1 (not 0) so that opening the very first job pays no zero-to-non-zero storage write.
    uint256 private _nextJobId = 1;
    mapping(uint256 jobId => ComputeTypes.Job) private _jobs;
    /// @dev Whether a served job's penalty reserve was unlocked (by {releaseReserve}).
    mapping(uint256 jobId => bool) private _reserveReleased;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `PAUSER_ROLE`.
    /// @param credits_ The credits contract (grant this contract its `JOBS_ROLE`).
    /// @param registry_ The provider registry (grant this contract `COLLATERAL_ROLE` and `SLASHER_ROLE`).
    /// @param settlementGrace_ Seconds late usage may still settle (at least the metering challenge period).
    constructor(address admin, IComputeCredits credits_, IProviderRegistry registry_, uint40 settlementGrace_) {
        if (address(credits_) == address(0) || address(registry_) == address(0)) revert JobsZeroAddress();
        credits = credits_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setSettlementGrace(settlementGrace_);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobs
    function settlementGrace() external view override returns (uint40) {
        return _settlementGrace;
    }

    /// @inheritdoc IJobs
    function jobOf(uint256 jobId) external view override returns (ComputeTypes.Job memory) {
        return _existing(jobId);
    }

    /// @inheritdoc IJobs
    function jobCount() external view override returns (uint256) {
        unchecked {
            // Overflow not possible: _nextJobId >= 1.
            return _nextJobId - 1;
        }
    }

    /// @inheritdoc IJobs
    function penaltyReserveOf(uint256 jobId) external view override returns (uint256) {
        ComputeTypes.Job storage job = _existing(jobId);
        ComputeTypes.JobStatus status = job.status;
        if (!_running(status) && (status != ComputeTypes.JobStatus.Served || _reserveReleased[jobId])) return 0;
        return _penalty(job.maxSeconds, credits.jobTermsOf(job.seriesId));
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobs
    function open(uint256 seriesId, uint256 maxSeconds, string calldata specCid)
        external
        override
        whenNotPaused
        returns (uint256 jobId)
    {
        // Check: a non-zero 64-bit amount and a well-formed spec CID.
        if (maxSeconds == 0) revert JobsZeroAmount();
        if (maxSeconds > type(uint64).max) revert JobsAmountOverflow(maxSeconds);
        uint256 cidLength = bytes(specCid).length;
        if (cidLength == 0 || cidLength > MAX_CID_LENGTH) revert JobsInvalidSpec(specCid);

        // Interaction (protocol): take the credits into custody; the credits contract checks the series.
        ComputeTypes.JobTerms memory terms = credits.lockForJob(msg.sender, seriesId, maxSeconds);
        // Interaction (protocol): reserve the penalty from the provider's free stake.
        uint256 reserve = _penalty(maxSeconds, terms);
        if (reserve != 0) registry.lock(terms.provider, reserve);

        // Effect: record the job.
        jobId = _nextJobId;
        unchecked {
            // Overflow not possible: one id per transaction.
            _nextJobId = jobId + 1;
        }
        uint40 ackDeadline = uint40(block.timestamp) + terms.ackTimeout;
        _jobs[jobId] = ComputeTypes.Job({
            holder: msg.sender,
            seriesId: uint64(seriesId), // series ids are sequential from 1: far below 2^64
            status: ComputeTypes.JobStatus.Opened,
            maxSeconds: uint64(maxSeconds),
            usedSeconds: 0,
            ackDeadline: ackDeadline,
            deadline: terms.end
        });
        emit JobOpened(jobId, seriesId, msg.sender, maxSeconds, specCid, ackDeadline, terms.end);
    }

    /// @inheritdoc IJobs
    function acknowledge(uint256 jobId) external override whenNotPaused {
        // Check: an opened job of the caller's series, within the acknowledgement window.
        ComputeTypes.Job storage job = _existing(jobId);
        if (job.status != ComputeTypes.JobStatus.Opened) revert JobsInvalidStatus(jobId, job.status);
        if (credits.jobTermsOf(job.seriesId).provider != msg.sender) revert JobsNotProvider(jobId, msg.sender);
        if (block.timestamp > job.ackDeadline) revert JobsAckWindowEnded(jobId, job.ackDeadline);

        // Effect: the provider takes the job on.
        job.status = ComputeTypes.JobStatus.Acknowledged;
        emit JobAcknowledged(jobId, msg.sender);
    }

    /// @inheritdoc IJobs
    function applyUsage(uint256 jobId, uint256 gpuSeconds) external override whenNotPaused onlyRole(METERING_ROLE) {
        // Check and effect: bill the job.
        (uint256 seriesId, uint256 applied, uint256 used) = _bill(jobId, gpuSeconds);

        // Interaction (protocol): burn the delivered credits from custody.
        uint256 delivered = credits.burnDelivered(seriesId, applied);
        unchecked {
            // Overflow not possible: applied <= gpuSeconds.
            emit UsageApplied(jobId, seriesId, applied, gpuSeconds - applied, used, delivered);
        }

        // A served job's penalty reserve is unlocked by {releaseReserve}, and `UsageApplied.used ==
        // maxSeconds` tells it was served, keeping the serving report as cheap as the others.
    }

    /// @inheritdoc IJobs
    function applyUsageBatch(ComputeTypes.Usage[] calldata usage)
        external
        override
        whenNotPaused
        onlyRole(METERING_ROLE)
    {
        uint256 count = usage.length;
        if (count == 0 || count > MAX_USAGE_BATCH) revert JobsBatchSize(count);
        uint256[] memory billed = new uint256[](count); // per entry: applied | used << 128
        uint256 start;
        while (start < count) {
            start = _applyRun(usage, start, billed);
        }
    }

    /// @dev Bills the run of consecutive entries of one series from `start`, burns its credits in one call and
    /// emits each entry's {UsageApplied}; returns where the next run starts.
    function _applyRun(ComputeTypes.Usage[] calldata usage, uint256 start, uint256[] memory billed)
        private
        returns (uint256 end)
    {
        // Check and effect: bill each job of the run.
        uint256 seriesId = _jobs[usage[start].jobId].seriesId;
        uint256 total;
        for (end = start; end < usage.length;) {
            uint256 jobId = usage[end].jobId;
            if (end != start && _jobs[jobId].seriesId != seriesId) break; // the next run starts here
            (, uint256 applied, uint256 used) = _bill(jobId, usage[end].gpuSeconds);
            billed[end] = applied | (used << 128);
            unchecked {
                // Overflow not possible: each at most a job's uint64 credits, at most 500 of them.
                total += applied;
                ++end;
            }
        }

        // Interaction (protocol): burn the run's credits from custody at once.
        uint256 delivered = credits.burnDelivered(seriesId, total);
        unchecked {
            // Underflow not possible: delivered includes this run's total; applied <= gpuSeconds.
            delivered -= total;
            for (uint256 i = start; i < end; ++i) {
                uint256 applied = uint128(billed[i]);
                delivered += applied;
                emit UsageApplied(usage[i].jobId, seriesId, applied, usage[i].gpuSeconds - applied,
                    billed[i] >> 128, delivered);
            }
        }
    }

    /// @dev Check that job `jobId` takes usage and bill at most its remaining locked credits (at least one:
    /// a running job has some left); returns its series, the seconds billed and its new used total.
    function _bill(uint256 jobId, uint256 gpuSeconds)
        private
        returns (uint256 seriesId, uint256 applied, uint256 used)
    {
        if (gpuSeconds == 0) revert JobsZeroAmount();
        ComputeTypes.Job storage job = _jobs[jobId];
        ComputeTypes.JobStatus status = job.status;
        if (status != ComputeTypes.JobStatus.Acknowledged && status != ComputeTypes.JobStatus.Closing) {
            if (status == ComputeTypes.JobStatus.None) revert JobsUnknownJob(jobId);
            revert JobsInvalidStatus(jobId, status);
        }
        uint256 maxSeconds = job.maxSeconds;
        used = job.usedSeconds;
        unchecked {
            // Overflow not possible: used < maxSeconds while acknowledged or closing.
            uint256 remaining = maxSeconds - used;
            applied = gpuSeconds < remaining ? gpuSeconds : remaining;
            used += applied;
        }
        job.usedSeconds = uint64(used);
        if (used == maxSeconds) job.status = ComputeTypes.JobStatus.Served;
        seriesId = job.seriesId;
    }

    /// @inheritdoc IJobs
    function releaseReserve(uint256 jobId) external override {
        // Check: a served job whose reserve is still locked.
        ComputeTypes.Job storage job = _existing(jobId);
        if (job.status != ComputeTypes.JobStatus.Served) revert JobsInvalidStatus(jobId, job.status);
        if (_reserveReleased[jobId]) revert JobsReserveReleased(jobId);

        // Effect: released.
        _reserveReleased[jobId] = true;
        ComputeTypes.JobTerms memory terms = credits.jobTermsOf(job.seriesId);
        uint256 reserve = _penalty(job.maxSeconds, terms);
        emit ReserveReleased(jobId, terms.provider, reserve);

        // Interaction (protocol): unlock the provider's penalty reserve.
        if (reserve != 0) registry.unlock(terms.provider, reserve);
    }

    /// @inheritdoc IJobs
    function close(uint256 jobId) external override {
        ComputeTypes.Job storage job = _existing(jobId);
        ComputeTypes.JobStatus status = job.status;
        if (status == ComputeTypes.JobStatus.Opened || status == ComputeTypes.JobStatus.Acknowledged) {
            // Check: the holder's job.
            if (job.holder != msg.sender) revert JobsNotHolder(jobId, msg.sender);
            if (status == ComputeTypes.JobStatus.Acknowledged && _settlementGrace != 0) {
                // Effect: let usage measured so far settle before the credits return.
                uint40 settlesAt = uint40(block.timestamp) + _settlementGrace;
                job.status = ComputeTypes.JobStatus.Closing;
                job.deadline = settlesAt;
                emit JobClosing(jobId, settlesAt);
                return;
            }
        } else if (status == ComputeTypes.JobStatus.Closing) {
            // Check: its settlement time has come (anyone may settle it).
            if (block.timestamp < job.deadline) revert JobsSettling(jobId, job.deadline);
        } else {
            revert JobsInvalidStatus(jobId, status);
        }

        // Effect: close it.
        job.status = ComputeTypes.JobStatus.Closed;
        uint256 maxSeconds = job.maxSeconds;
        uint256 returned = maxSeconds - job.usedSeconds;
        emit JobClosed(jobId, returned);

        // Interaction (protocol): unused credits back to the holder, penalty reserve released.
        _settle(job.holder, job.seriesId, maxSeconds, returned, 0);
    }

    /// @inheritdoc IJobs
    function claim(uint256 jobId) external override {
        // Check: the caller's job, defaulted (not acknowledged in time, or not served by its deadline).
        ComputeTypes.Job storage job = _holderJob(jobId);
        ComputeTypes.JobStatus status = job.status;
        if (status == ComputeTypes.JobStatus.Opened) {
            if (block.timestamp <= job.ackDeadline) revert JobsNotClaimable(jobId, job.ackDeadline + 1);
        } else if (status == ComputeTypes.JobStatus.Acknowledged) {
            uint40 claimableAt = job.deadline + _settlementGrace;
            if (block.timestamp < claimableAt) revert JobsNotClaimable(jobId, claimableAt);
        } else {
            revert JobsInvalidStatus(jobId, status);
        }

        // Effect: mark it refunded.
        job.status = ComputeTypes.JobStatus.Refunded;
        uint256 maxSeconds = job.maxSeconds;
        uint256 unused = maxSeconds - job.usedSeconds;

        // Interaction (protocol): unused credits back, the penalty on them slashed to the holder.
        uint256 penalty = _settle(msg.sender, job.seriesId, maxSeconds, unused, unused);
        emit JobRefunded(jobId, unused, penalty);
    }

    /// @inheritdoc IJobs
    function setSettlementGrace(uint40 settlementGrace_) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSettlementGrace(settlementGrace_);
    }

    /// @inheritdoc IJobs
    function pause() external override onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IJobs
    function unpause() external override onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////////////////
                             INTERNAL CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _existing(uint256 jobId) private view returns (ComputeTypes.Job storage job) {
        job = _jobs[jobId];
        if (job.status == ComputeTypes.JobStatus.None) revert JobsUnknownJob(jobId);
    }

    function _running(ComputeTypes.JobStatus status) private pure returns (bool) {
        return status == ComputeTypes.JobStatus.Opened || status == ComputeTypes.JobStatus.Acknowledged
            || status == ComputeTypes.JobStatus.Closing;
    }

    function _holderJob(uint256 jobId) private view returns (ComputeTypes.Job storage job) {
        job = _existing(jobId);
        if (job.holder != msg.sender) revert JobsNotHolder(jobId, msg.sender);
    }

    /// @dev The penalty on `seconds_` unserved GPU-seconds: their collateral times the penalty rate.
    function _penalty(uint256 seconds_, ComputeTypes.JobTerms memory terms) private pure returns (uint256) {
        // Cannot overflow: seconds_ < 2^64, collateralRate < 2^128, penaltyBps < 2^16.
        return seconds_ * terms.collateralRate * terms.penaltyBps / BPS;
    }

    /*//////////////////////////////////////////////////////////////////////////
                           INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _setSettlementGrace(uint40 settlementGrace_) private {
        if (settlementGrace_ > MAX_SETTLEMENT_GRACE) revert JobsInvalidSettlementGrace(settlementGrace_);
        _settlementGrace = settlementGrace_;
        emit SettlementGraceSet(settlementGrace_);
    }

    /// @dev Ends a job: returns `returned` credits to `holder`, slashes the penalty on `penalized`
    /// seconds from the provider's reserve to `holder` and unlocks the rest of the reserve.
    function _settle(address holder, uint256 seriesId, uint256 maxSeconds, uint256 returned, uint256 penalized)
        private
        returns (uint256 penalty)
    {
        ComputeTypes.JobTerms memory terms = credits.jobTermsOf(seriesId);
        if (returned != 0) credits.returnFromJob(holder, seriesId, returned);
        uint256 reserve = _penalty(maxSeconds, terms);
        penalty = _penalty(penalized, terms);
        if (penalty != 0) registry.slash(terms.provider, penalty, holder);
        // Cannot underflow: penalized <= maxSeconds.
        if (reserve != penalty) registry.unlock(terms.provider, reserve - penalty);
    }
}
