// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";
import {IComputeCredits} from "./IComputeCredits.sol";
import {IProviderRegistry} from "./IProviderRegistry.sol";

/// @title IJobs
/// @notice Jobs redeem credits for GPU time. A holder opens a job on a series, locking up to
/// `maxSeconds` credits in this contract's custody; the series' provider acknowledges it within the
/// class's acknowledgement timeout; the metering contract (`METERING_ROLE`) applies delivered usage,
/// which burns locked credits and advances the series' delivered total; the holder closes the job
/// and gets its unused credits back.
///
/// Opening a job also locks a penalty reserve of the provider's free stake:
/// `maxSeconds * collateralRate * penaltyBps / 10_000`. If the provider does not acknowledge in
/// time, or the job is not fully served by the series' window end, the holder claims its unused
/// credits back plus `unused * collateralRate * penaltyBps / 10_000` CPT slashed from that reserve.
/// Whatever part of the reserve is not slashed is unlocked when the job ends (for a served job, by
/// {releaseReserve}).
///
/// Metered usage reaches this contract late (the oracle batches reports and lets them be
/// challenged before they are final). So that a holder cannot take back credits for GPU time
/// already delivered, closing an acknowledged job and claiming after the deadline both wait a
/// governance-set settlement grace, during which usage measured before still applies.
interface IJobs is IAccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `holder` opened job `jobId` on series `seriesId`, locking `maxSeconds` credits;
    /// the provider must acknowledge by `ackDeadline` and serve by `deadline`.
    event JobOpened(
        uint256 indexed jobId,
        uint256 indexed seriesId,
        address indexed holder,
        uint256 maxSeconds,
        string specCid,
        uint40 ackDeadline,
        uint40 deadline
    );

    /// @notice Emitted when the provider of job `jobId` acknowledged it.
    event JobAcknowledged(uint256 indexed jobId, address indexed provider);

    /// @notice Emitted when the metering contract applied usage to job `jobId`: `applied` credits burned,
    /// `unbilled` reported seconds beyond the job's locked credits (not billed), `used` the job's total,
    /// `seriesDelivered` the series' new delivered total.
    event UsageApplied(
        uint256 indexed jobId,
        uint256 indexed seriesId,
        uint256 applied,
        uint256 unbilled,
        uint256 used,
        uint256 seriesDelivered
    );

    /// @notice Emitted when the penalty reserve `reserve` of served job `jobId` was unlocked for `provider`.
    event ReserveReleased(uint256 indexed jobId, address indexed provider, uint256 reserve);

    /// @notice Emitted when the holder closed acknowledged job `jobId`; it settles at `settlesAt`.
    event JobClosing(uint256 indexed jobId, uint40 settlesAt);

    /// @notice Emitted when governance set the settlement grace.
    event SettlementGraceSet(uint40 settlementGrace);

    /// @notice Emitted when job `jobId` was closed and its holder got `returned` unused credits back.
    event JobClosed(uint256 indexed jobId, uint256 returned);

    /// @notice Emitted when the holder of job `jobId` claimed after a default: `returned` unused credits
    /// and `penalty` CPT wei slashed from the provider.
    event JobRefunded(uint256 indexed jobId, uint256 returned, uint256 penalty);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The penalty reserve of served job `jobId` was already released.
    error JobsReserveReleased(uint256 jobId);

    /// @notice Job `jobId` does not exist.
    error JobsUnknownJob(uint256 jobId);

    /// @notice A job of zero GPU-seconds, or usage of zero seconds.
    error JobsZeroAmount();

    /// @notice `maxSeconds` does not fit 64 bits.
    error JobsAmountOverflow(uint256 maxSeconds);

    /// @notice The spec CID is empty or longer than 128 bytes.
    error JobsInvalidSpec(string specCid);

    /// @notice `caller` is not the holder of job `jobId`.
    error JobsNotHolder(uint256 jobId, address caller);

    /// @notice `caller` is not the provider of job `jobId`.
    error JobsNotProvider(uint256 jobId, address caller);

    /// @notice Job `jobId` is in `status`, which does not allow this action.
    error JobsInvalidStatus(uint256 jobId, ComputeTypes.JobStatus status);

    /// @notice The acknowledgement window of job `jobId` ended at `ackDeadline`.
    error JobsAckWindowEnded(uint256 jobId, uint40 ackDeadline);

    /// @notice Job `jobId` has not defaulted: its holder can claim from `claimableAt` on, if still unserved.
    error JobsNotClaimable(uint256 jobId, uint40 claimableAt);

    /// @notice Job `jobId` is closing; it can be settled from `settlesAt` on.
    error JobsSettling(uint256 jobId, uint40 settlesAt);

    /// @notice A settlement grace above 30 days.
    error JobsInvalidSettlementGrace(uint40 settlementGrace);

    /// @notice A zero address where a contract is needed.
    error JobsZeroAddress();

    /// @notice Thrown when a usage batch holds `count` entries (1 to 500 allowed).
    error JobsBatchSize(uint256 count);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role of the metering contract (the MeteringOracle) that applies usage.
    function METERING_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pause opening, acknowledging and metering.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Seconds after a holder closes an acknowledged job, or after a job's deadline, during
    /// which usage measured before still applies and the job cannot be settled or claimed.
    function settlementGrace() external view returns (uint40);

    /// @notice The credits contract.
    function credits() external view returns (IComputeCredits);

    /// @notice The provider registry.
    function registry() external view returns (IProviderRegistry);

    /// @notice Job `jobId`.
    /// @dev Reverts with {JobsUnknownJob} for an id never opened.
    function jobOf(uint256 jobId) external view returns (ComputeTypes.Job memory);

    /// @notice The number of jobs opened; ids run from 1 to this number.
    function jobCount() external view returns (uint256);

    /// @notice The CPT wei of the provider's stake that job `jobId` keeps locked as its penalty reserve
    /// (0 once it ended).
    function penaltyReserveOf(uint256 jobId) external view returns (uint256);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Opens a job on series `seriesId`, locking `maxSeconds` of the caller's credits.
    /// @dev Emits {JobOpened}, the credits' {IERC1155-TransferSingle} and, with a non-zero penalty,
    /// the registry's {CollateralLocked}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - `maxSeconds` must be greater than zero, fit 64 bits and be at most the caller's balance.
    /// - `specCid` must be 1 to 128 bytes.
    /// - The series must exist, not be frozen and its window must not have ended.
    /// - The provider's free stake must cover the penalty reserve.
    ///
    /// @param seriesId The credit series to redeem.
    /// @param maxSeconds GPU-seconds to lock: the most the job may use.
    /// @param specCid IPFS CID of the job's specification (image, command, inputs).
    /// @return jobId The new job's id.
    function open(uint256 seriesId, uint256 maxSeconds, string calldata specCid) external returns (uint256 jobId);

    /// @notice Acknowledges job `jobId`: the provider takes it on.
    /// @dev Emits {JobAcknowledged}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - The caller must be the series' provider; the job must be `Opened` (not acknowledged before).
    /// - The acknowledgement deadline must not have passed.
    function acknowledge(uint256 jobId) external;

    /// @notice Applies `gpuSeconds` of newly delivered GPU time to job `jobId`. Increments, not
    /// cumulative totals: the metering contract turns its cumulative counters into increments.
    /// At most the job's remaining locked credits are burned; seconds beyond them are not billed
    /// (they are reported as `unbilled` in {UsageApplied} and forgotten). When the job's credits are
    /// used up it is `Served` and its penalty reserve releasable ({releaseReserve}).
    /// @dev Emits {UsageApplied} (its `used` equals `maxSeconds` when the report served the job) and the
    /// credits' {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The contract must not be paused; the caller must have `METERING_ROLE`.
    /// - `gpuSeconds` must be greater than zero.
    /// - The job must be `Acknowledged` or `Closing` (in its settlement grace). Usage arriving after
    ///   the job was closed, served or refunded is refused.
    function applyUsage(uint256 jobId, uint256 gpuSeconds) external;

    /// @notice Applies many jobs' usage at once, each exactly as {applyUsage} would; the credits of a run
    /// of consecutive entries of one series are burned in one call (far cheaper per entry).
    /// @dev All or nothing: one entry {applyUsage} would refuse reverts the batch with that error (the
    /// metering contract then applies the entries one by one). Emits {UsageApplied} per entry, with
    /// `seriesDelivered` the series' running delivered total, and one {IERC1155-TransferSingle} per run.
    ///
    /// Requirements: as {applyUsage} for every entry; 1 to 500 entries.
    function applyUsageBatch(ComputeTypes.Usage[] calldata usage) external;

    /// @notice Closes job `jobId`. A job not yet acknowledged closes at once: its credits return to the
    /// holder and the penalty reserve is unlocked. An acknowledged job becomes `Closing` and settles
    /// after the settlement grace (at once when the grace is zero); calling `close` again then returns
    /// its unused credits to the holder. Works while paused.
    /// @dev Emits {JobClosing} or {JobClosed}.
    ///
    /// Requirements:
    /// - For an `Opened` or `Acknowledged` job, the caller must be its holder.
    /// - For a `Closing` job (anyone may settle it), its settlement time must have come.
    function close(uint256 jobId) external;

    /// @notice Unlocks the provider's penalty reserve of served job `jobId` (anyone may call; the usage
    /// that serves a job does not, so that the last report costs what the others cost).
    /// @dev Emits {ReserveReleased}.
    ///
    /// Requirements:
    /// - The job must be `Served` and its reserve not released yet.
    function releaseReserve(uint256 jobId) external;

    /// @notice Claims the refund of a defaulted job `jobId`: its unused credits back, plus the penalty on
    /// them slashed from the provider's reserve. A job defaults when it was not acknowledged by its
    /// acknowledgement deadline, or when it is acknowledged but not fully served by its deadline
    /// (claimable once the settlement grace after the deadline has passed).
    /// Works while paused.
    /// @dev Emits {JobRefunded} and the registry's {ProviderSlashed}.
    ///
    /// Requirements:
    /// - The caller must be the job's holder.
    /// - The job must be `Opened` past its acknowledgement deadline, or `Acknowledged` past its deadline
    ///   plus the settlement grace.
    function claim(uint256 jobId) external;

    /// @notice Sets the settlement grace (0 for local chains without a challenge period).
    /// @dev Emits {SettlementGraceSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`; the grace must be at most 30 days.
    function setSettlementGrace(uint40 settlementGrace_) external;

    /// @notice Pauses opening, acknowledging and metering. Closing and claiming keep working.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function pause() external;

    /// @notice Unpauses.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function unpause() external;
}
