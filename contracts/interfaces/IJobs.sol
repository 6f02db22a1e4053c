// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";
import {IComputeCredits} from "./IComputeCredits.sol";

/// @title IJobs
/// @notice Jobs redeem credits for GPU time. A holder opens a job on a series, locking up to
/// `maxSeconds` credits in this contract's custody; the series' provider acknowledges it within the
/// class's acknowledgement timeout; the metering contract (`METERING_ROLE`) applies delivered usage,
/// which burns locked credits and advances the series' delivered total; the holder closes the job
/// and gets its unused credits back.
///
/// Opening a job needs nothing of the provider: every credit carries its own collateral, locked
/// when it was minted ({IComputeCredits-collateralPerCredit}: the collateral rate plus the penalty on
/// it). If the provider does not acknowledge in time, or the job is not fully served by the series'
/// window end, the holder claims: the unserved credits are burned and their whole collateral is
/// paid to the holder. So a provider cannot make credits it sold unredeemable, and nothing it does
/// with its free stake changes what a defaulted holder receives. If the series' cooperative
/// faulted (the series is frozen), the provider owes nothing: it may close the jobs at once, and a
/// claim returns the credits instead of paying.
///
/// Metered usage reaches this contract late (the oracle batches reports and lets them be
/// challenged before they are final). So that a holder cannot take back credits for GPU time
/// already delivered, closing an acknowledged job and claiming after the deadline both wait the
/// settlement grace (the value when the job was opened), during which usage measured before still
/// applies; after it, usage is refused ({JobsUsageTooLate}), so a series' delivered total is final
/// at `end + maxSettlementGrace()` once no usage is held. A challenged usage entry holds its job
/// ({hold}): the job cannot settle until the challenge is resolved ({releaseHold}), and the entry
/// then bills however late it is.
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

    /// @notice Emitted when the metering contract held or released a challenged usage entry of job `jobId`;
    /// `holds` entries are held now.
    event UsageHeld(uint256 indexed jobId, uint256 holds);

    /// @notice Emitted when the holder closed acknowledged job `jobId`; it settles at `settlesAt`.
    event JobClosing(uint256 indexed jobId, uint40 settlesAt);

    /// @notice Emitted when governance set the settlement grace.
    event SettlementGraceSet(uint40 settlementGrace);

    /// @notice Emitted when job `jobId` was closed and its holder got `returned` unused credits back.
    event JobClosed(uint256 indexed jobId, uint256 returned);

    /// @notice Emitted when the holder of job `jobId` claimed after a default: its `unserved` credits were
    /// burned and `paid` CPT wei of their collateral paid to it (or, when the series is frozen, they were
    /// returned and `paid` is 0).
    event JobRefunded(uint256 indexed jobId, uint256 unserved, uint256 paid);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Usage for job `jobId` arrived at or after its cutoff `cutoff` (when it can settle): it is refused.
    error JobsUsageTooLate(uint256 jobId, uint256 cutoff);

    /// @notice Job `jobId` has `holds` challenged usage entries held back: it cannot settle until they are resolved.
    error JobsUsageHeld(uint256 jobId, uint256 holds);

    /// @notice Job `jobId` has no usage held back.
    error JobsNotHeld(uint256 jobId);

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
    /// which usage measured before still applies and the job cannot be settled or claimed. A job keeps
    /// the grace it was opened with.
    function settlementGrace() external view returns (uint40);

    /// @notice The largest settlement grace ever set: no job's usage lands later than its series' window
    /// end plus this, unless held by a challenge ({seriesHoldsOf}).
    function maxSettlementGrace() external view returns (uint40);

    /// @notice Challenged usage entries of job `jobId` held back (the job cannot settle while non-zero).
    function holdsOf(uint256 jobId) external view returns (uint256);

    /// @notice Challenged usage entries held back over all jobs of series `seriesId`.
    function seriesHoldsOf(uint256 seriesId) external view returns (uint256);

    /// @notice The credits contract.
    function credits() external view returns (IComputeCredits);

    /// @notice Job `jobId`.
    /// @dev Reverts with {JobsUnknownJob} for an id never opened.
    function jobOf(uint256 jobId) external view returns (ComputeTypes.Job memory);

    /// @notice The number of jobs opened; ids run from 1 to this number.
    function jobCount() external view returns (uint256);


    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Opens a job on series `seriesId`, locking `maxSeconds` of the caller's credits.
    /// @dev Emits {JobOpened} and the credits' {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - `maxSeconds` must be greater than zero, fit 64 bits and be at most the caller's balance.
    /// - `specCid` must be 1 to 128 bytes.
    /// - The series must exist, not be frozen and its window must not have ended.
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
    /// used up it is `Served`.
    /// @dev Emits {UsageApplied} (its `used` equals `maxSeconds` when the report served the job) and the
    /// credits' {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The caller must have `METERING_ROLE` (works while paused: usage measured in time must land before the
    ///   job's cutoff, and the clock runs on during a pause).
    /// - `gpuSeconds` must be greater than zero.
    /// - The job must be `Acknowledged` or `Closing` (in its settlement grace). Usage arriving after
    ///   the job was closed, served or refunded is refused.
    /// - It must arrive before the job's cutoff: a closing job's settlement time, else its deadline plus
    ///   its grace ({JobsUsageTooLate}).
    function applyUsage(uint256 jobId, uint256 gpuSeconds) external;

    /// @notice Holds job `jobId` for one challenged usage entry: the job cannot be closed or claimed until
    /// {releaseHold}. The metering contract calls it when a holder challenges an entry.
    /// @dev Emits {UsageHeld}.
    ///
    /// Requirements:
    /// - The caller must have `METERING_ROLE`; the job must be `Acknowledged` or `Closing`, before its cutoff.
    function hold(uint256 jobId) external;

    /// @notice Releases one hold of job `jobId` and bills `gpuSeconds` of its usage (0 for a voided entry)
    /// as {applyUsage} would, but after the cutoff too: the entry was measured in time.
    /// @dev Emits {UsageHeld}, and {UsageApplied} when something is billed.
    ///
    /// Requirements:
    /// - The caller must have `METERING_ROLE` (works while paused: usage measured in time must land before the
    ///   job's cutoff, and the clock runs on during a pause).
    /// - The job must be held.
    function releaseHold(uint256 jobId, uint256 gpuSeconds) external;

    /// @notice Applies many jobs' usage at once, each exactly as {applyUsage} would; the credits of a run
    /// of consecutive entries of one series are burned in one call (far cheaper per entry).
    /// @dev All or nothing: one entry {applyUsage} would refuse reverts the batch with that error (the
    /// metering contract then applies the entries one by one). Emits {UsageApplied} per entry, with
    /// `seriesDelivered` the series' running delivered total, and one {IERC1155-TransferSingle} per run.
    ///
    /// Requirements: as {applyUsage} for every entry; 1 to 500 entries.
    function applyUsageBatch(ComputeTypes.Usage[] calldata usage) external;

    /// @notice Closes job `jobId`. A job not yet acknowledged closes at once: its credits return to the
    /// holder. An acknowledged job becomes `Closing` and settles after its settlement grace, counted from
    /// now or from its deadline if that has passed (at once when the grace is zero); calling `close` again
    /// then returns its unused credits to the holder. When the series is frozen (its cooperative faulted),
    /// its provider may close any of its running jobs at once, without penalty. Works while paused.
    /// @dev Emits {JobClosing} or {JobClosed}.
    ///
    /// Requirements:
    /// - For an `Opened` or `Acknowledged` job, the caller must be its holder (or the provider of a frozen series).
    /// - For a `Closing` job (anyone may settle it), its settlement time must have come.
    /// - To end the job, no usage of it may be held ({JobsUsageHeld}).
    function close(uint256 jobId) external;

    /// @notice Claims after a default of job `jobId`: its unserved credits are burned and their whole
    /// collateral ({IComputeCredits-collateralPerCredit} each: the rate plus the penalty) is paid to the
    /// holder from the provider's locked stake. A job defaults when it was not acknowledged by its
    /// acknowledgement deadline, or when it is acknowledged but not fully served by its deadline
    /// (claimable once its settlement grace after the deadline has passed). On a frozen series (the
    /// cooperative faulted) the credits return to the holder instead and nothing is paid.
    /// Works while paused.
    /// @dev Emits {JobRefunded}, and the credits' {IComputeCredits-CreditsCompensated}.
    ///
    /// Requirements:
    /// - The caller must be the job's holder.
    /// - The job must be `Opened` past its acknowledgement deadline, or `Acknowledged` past its deadline
    ///   plus its settlement grace.
    /// - No usage of the job may be held ({JobsUsageHeld}).
    function claim(uint256 jobId) external;

    /// @notice Sets the settlement grace (0 for local chains without a challenge period).
    /// @dev Emits {SettlementGraceSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`; the grace must be at most 30 days.
    function setSettlementGrace(uint40 settlementGrace_) external;

    /// @notice Pauses opening and acknowledging jobs. Metering, closing and claiming keep working: a pause
    /// never keeps usage measured in time from landing before a job's cutoff, nor a holder from its exit.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function pause() external;

    /// @notice Unpauses.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function unpause() external;
}
