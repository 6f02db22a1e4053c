// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {IJobs} from "./interfaces/IJobs.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";

/// @title Jobs
/// @notice See the documentation in {IJobs}.
/// @dev Every external call goes to the protocol's own ComputeCredits (and through it the ProviderRegistry),
/// which call no untrusted code on these paths (custody moves skip the ERC-1155 acceptance check), so the order of
/// effects and these calls cannot be exploited by reentrancy.
contract Jobs is IJobs, AccessControl, Pausable {
    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IJobs
    bytes32 public constant override METERING_ROLE = keccak256("METERING_ROLE");
    /// @inheritdoc IJobs
    bytes32 public constant override PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant MAX_CID_LENGTH = 128;
    uint40 private constant MAX_SETTLEMENT_GRACE = 30 days;
    uint256 private constant MAX_USAGE_BATCH = 500;

    /// @inheritdoc IJobs
    IComputeCredits public immutable override credits;

    uint40 private _settlementGrace;
    uint40 private _maxSettlementGrace;

    /// @dev Starts at 1 (not 0) so that opening the very first job pays no zero-to-non-zero storage write.
    uint256 private _nextJobId = 1;
    mapping(uint256 jobId => ComputeTypes.Job) private _jobs;
    /// @dev Challenged usage entries of a job the metering contract still holds back (see {hold}).
    mapping(uint256 jobId => uint256 holds) private _holds;
    mapping(uint256 seriesId => uint256 holds) private _seriesHolds;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `PAUSER_ROLE`.
    /// @param credits_ The credits contract (grant this contract its `JOBS_ROLE`).
    /// @param settlementGrace_ Seconds late usage may still settle: at least the metering challenge period plus the
    /// time to submit and finalise a batch (the oracle refuses a period above it).
    constructor(address admin, IComputeCredits credits_, uint40 settlementGrace_) {
        if (address(credits_) == address(0)) revert JobsZeroAddress();
        credits = credits_;
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
    function maxSettlementGrace() external view override returns (uint40) {
        return _maxSettlementGrace;
    }

    /// @inheritdoc IJobs
    function holdsOf(uint256 jobId) external view override returns (uint256) {
        return _holds[jobId];
    }

    /// @inheritdoc IJobs
    function seriesHoldsOf(uint256 seriesId) external view override returns (uint256) {
        return _seriesHolds[seriesId];
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

        // Interaction (protocol): take the credits into custody; the credits contract checks the series. Their
        // collateral (rate plus penalty) was locked when they were minted: nothing of the provider's is needed.
        ComputeTypes.JobTerms memory terms = credits.lockForJob(msg.sender, seriesId, maxSeconds);

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
            deadline: terms.end,
            // The grace of this moment stays the job's: later changes do not apply to it.
            cutoff: terms.end + _settlementGrace
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
    /// @dev Not pausable: the clock of cutoffs and claims runs on during a pause, so usage measured in time must
    /// land during it too (an emergency stop of metering is the oracle's signer set, not this pause).
    function applyUsage(uint256 jobId, uint256 gpuSeconds) external override onlyRole(METERING_ROLE) {
        // Check and effect: bill the job.
        (uint256 seriesId, uint256 applied, uint256 used) = _bill(jobId, gpuSeconds, true);
        _burnDelivered(jobId, seriesId, gpuSeconds, applied, used);
    }

    /// @inheritdoc IJobs
    function hold(uint256 jobId) external override onlyRole(METERING_ROLE) {
        // Check: a job that still takes usage.
        ComputeTypes.Job storage job = _existing(jobId);
        ComputeTypes.JobStatus status = job.status;
        if (status != ComputeTypes.JobStatus.Acknowledged && status != ComputeTypes.JobStatus.Closing) {
            revert JobsInvalidStatus(jobId, status);
        }
        // Past its cutoff no entry of the job could apply any more (a batch final later skips it): nothing to hold,
        // and a hold must not let usage reach a series whose delivered total is already final.
        if (block.timestamp >= job.cutoff) revert JobsUsageTooLate(jobId, job.cutoff);

        // Effect: the job and its series wait for the challenged entry.
        uint256 holds = _holds[jobId] + 1;
        _holds[jobId] = holds;
        ++_seriesHolds[job.seriesId];
        emit UsageHeld(jobId, holds);
    }

    /// @inheritdoc IJobs
    function releaseHold(uint256 jobId, uint256 gpuSeconds) external override onlyRole(METERING_ROLE) {
        // Check: a held job.
        ComputeTypes.Job storage job = _existing(jobId);
        uint256 holds = _holds[jobId];
        if (holds == 0) revert JobsNotHeld(jobId);

        // Effect: one hold less.
        unchecked {
            // Underflow not possible: holds > 0, and the series counts every hold of its jobs.
            _holds[jobId] = holds - 1;
            --_seriesHolds[job.seriesId];
        }
        emit UsageHeld(jobId, holds - 1);

        // Effect and interaction (protocol): bill the entry now, however late: it was measured in time. A held
        // job cannot settle, so it is still running, unless served meanwhile (then nothing is left to bill).
        if (gpuSeconds == 0 || job.status == ComputeTypes.JobStatus.Served) return;
        (uint256 seriesId, uint256 applied, uint256 used) = _bill(jobId, gpuSeconds, false);
        _burnDelivered(jobId, seriesId, gpuSeconds, applied, used);
    }

    /// @dev Burns `applied` delivered credits of job `jobId` from custody and emits {UsageApplied}.
    function _burnDelivered(uint256 jobId, uint256 seriesId, uint256 gpuSeconds, uint256 applied, uint256 used)
        private
    {
        // Interaction (protocol): burn the delivered credits from custody.
        uint256 delivered = credits.burnDelivered(seriesId, applied);
        unchecked {
            // Overflow not possible: applied <= gpuSeconds.
            emit UsageApplied(jobId, seriesId, applied, gpuSeconds - applied, used, delivered);
        }

    }

    /// @inheritdoc IJobs
    function applyUsageBatch(ComputeTypes.Usage[] calldata usage) external override onlyRole(METERING_ROLE) {
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
            (, uint256 applied, uint256 used) = _bill(jobId, usage[end].gpuSeconds, true);
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

    /// @dev Check that job `jobId` takes usage (before its cutoff, if `inTime`) and bill at most its remaining
    /// locked credits (at least one: a running job has some left); returns its series, the seconds billed and
    /// its new used total.
    function _bill(uint256 jobId, uint256 gpuSeconds, bool inTime)
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
        // Slot 1 read once (this is the metering hot path): maxSeconds (bits 0-63), usedSeconds (64-127),
        // ackDeadline (128-167), deadline (168-207), cutoff (208-247); see ComputeTypes.Job.
        uint256 slot1;
        assembly ("memory-safe") {
            slot1 := sload(add(job.slot, 1))
        }
        // Usage lands until the job can settle: a closing job's settlement time, else its deadline plus its grace
        // (when a default can be claimed). After that it would bill a settled job.
        uint256 cutoff = uint40(slot1 >> 208);
        if (inTime && block.timestamp >= cutoff) revert JobsUsageTooLate(jobId, cutoff);
        uint256 maxSeconds = uint64(slot1);
        used = uint64(slot1 >> 64);
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
    function close(uint256 jobId) external override {
        ComputeTypes.Job storage job = _existing(jobId);
        ComputeTypes.JobStatus status = job.status;
        uint256 seriesId = job.seriesId;
        if (!_running(status)) revert JobsInvalidStatus(jobId, status);
        if (credits.isFrozen(seriesId) && msg.sender == credits.jobTermsOf(seriesId).provider) {
            // Check: none. The series' cooperative faulted: its provider may end the job at once, unpenalised.
        } else if (status == ComputeTypes.JobStatus.Opened || status == ComputeTypes.JobStatus.Acknowledged) {
            // Check: the holder's job.
            if (job.holder != msg.sender) revert JobsNotHolder(jobId, msg.sender);
            uint40 deadline = job.deadline;
            uint40 grace = job.cutoff - deadline;
            if (status == ComputeTypes.JobStatus.Acknowledged && grace != 0) {
                // Effect: let usage measured so far settle before the credits return (from the deadline on,
                // no later than a default could be claimed).
                uint40 settlesAt = (block.timestamp < deadline ? uint40(block.timestamp) : deadline) + grace;
                job.status = ComputeTypes.JobStatus.Closing;
                job.deadline = settlesAt;
                job.cutoff = settlesAt;
                emit JobClosing(jobId, settlesAt);
                return;
            }
        } else {
            // Check: a closing job's settlement time has come (anyone may settle it).
            if (block.timestamp < job.deadline) revert JobsSettling(jobId, job.deadline);
        }
        _requireNotHeld(jobId);

        // Effect: close it.
        job.status = ComputeTypes.JobStatus.Closed;
        uint256 returned = job.maxSeconds - job.usedSeconds;
        emit JobClosed(jobId, returned);

        // Interaction (protocol): unused credits back to the holder.
        if (returned != 0) credits.returnFromJob(job.holder, seriesId, returned);
    }

    /// @inheritdoc IJobs
    function claim(uint256 jobId) external override {
        // Check: the caller's job, defaulted (not acknowledged in time, or not served by its deadline), with no
        // usage held back.
        ComputeTypes.Job storage job = _holderJob(jobId);
        ComputeTypes.JobStatus status = job.status;
        if (status == ComputeTypes.JobStatus.Opened) {
            if (block.timestamp <= job.ackDeadline) revert JobsNotClaimable(jobId, job.ackDeadline + 1);
        } else if (status == ComputeTypes.JobStatus.Acknowledged) {
            uint40 claimableAt = job.cutoff;
            if (block.timestamp < claimableAt) revert JobsNotClaimable(jobId, claimableAt);
        } else {
            revert JobsInvalidStatus(jobId, status);
        }
        _requireNotHeld(jobId);

        // Effect: mark it refunded.
        job.status = ComputeTypes.JobStatus.Refunded;
        uint256 seriesId = job.seriesId;
        uint256 unserved = job.maxSeconds - job.usedSeconds;

        // Interaction (protocol): the unserved credits are burned and their collateral paid to the holder; after
        // the cooperative's fault (a frozen series) the provider owes nothing and they return instead.
        uint256 paid;
        if (credits.isFrozen(seriesId)) credits.returnFromJob(msg.sender, seriesId, unserved);
        else paid = credits.compensate(seriesId, unserved, msg.sender);
        emit JobRefunded(jobId, unserved, paid);
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

    function _requireNotHeld(uint256 jobId) private view {
        uint256 holds = _holds[jobId];
        if (holds != 0) revert JobsUsageHeld(jobId, holds);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _setSettlementGrace(uint40 settlementGrace_) private {
        if (settlementGrace_ > MAX_SETTLEMENT_GRACE) revert JobsInvalidSettlementGrace(settlementGrace_);
        _settlementGrace = settlementGrace_;
        if (settlementGrace_ > _maxSettlementGrace) _maxSettlementGrace = settlementGrace_;
        emit SettlementGraceSet(settlementGrace_);
    }
}
