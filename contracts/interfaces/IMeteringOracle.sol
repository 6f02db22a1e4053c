// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";
import {Metering} from "../types/Metering.sol";
import {IJobs} from "./IJobs.sol";

/// @title IMeteringOracle
/// @notice Settles the metering oracle's signed usage reports on-chain.
///
/// A batch of `Metering.UsageReport`s carries one EIP-712 signature per signer over
/// `UsageBatch` in the domain ("GPU Barter MeteringOracle", "1", chain id, this contract); at least
/// `threshold` distinct signers of the governance-set signer set must sign, their signatures ordered by
/// strictly increasing signer address. Counters are cumulative per job and GPU: only the increase of
/// `allocatedGpuMs` over the stored value counts, converted to whole GPU-seconds with the millisecond
/// remainder carried (`floor(new / 1000) - floor(old / 1000)`), so a lost, repeated or reordered report
/// never double counts and nothing is lost.
///
/// Optimistic finality: accepted usage is pending for `challengePeriod` seconds (0: applied at once).
/// Within it the holder of a job may challenge one entry of a batch with a CPT bond (never zero);
/// the challenge holds back only that entry, and holds its job in Jobs ({IJobs-hold}) so that the job
/// cannot settle before the ruling. The arbiter rules within one more challenge period (the batch's
/// `resolveBy`): a rejected challenge forfeits the bond to the treasury and bills the entry; an
/// upheld one voids the entry, returns the bond and slashes up to `slashAmount` of each of the batch's
/// signers' bonds to the challenger. Past `resolveBy` without a ruling anyone may {lapse} the
/// challenge: the entry bills and the bond returns to the challenger. After the period anyone
/// finalises the batch, which applies its unchallenged entries to Jobs. An entry whose job can never
/// take it (unknown, not acknowledged, ended, or past its cutoff) is skipped with {UsageSkipped};
/// any other refusal (a revoked role, out of gas) reverts, so the batch stays final-able and nothing is
/// lost. A Jobs pause does not stop metering.
/// Leaving signers' bonds stay locked for two challenge periods (a challenge plus its ruling).
interface IMeteringOracle is IAccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                       TYPES
    //////////////////////////////////////////////////////////////////////////*/

    // An accepted report's entry (what finalisation applies) is a `ComputeTypes.Usage`: job id and the
    // whole GPU-seconds it added; a batch's entries are hashed as `keccak256(abi.encode(Usage[]))`.

    enum ChallengeStatus {
        None,
        Open,
        Rejected,
        Upheld,
        Lapsed // no ruling by the batch's `resolveBy`: the entry billed, the bond returned
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when a challenge of entry `index` of batch `batchId` lapsed without a ruling.
    event ChallengeLapsed(uint256 indexed batchId, uint256 index);

    /// @notice Emitted when governance replaced the signer set (epoch `epoch`) and threshold.
    event SignersSet(uint32 indexed epoch, address[] signers, uint8 threshold);

    /// @notice Emitted when governance changed the challenge parameters.
    event ChallengeParamsSet(uint40 challengePeriod, uint256 challengeBond, uint256 signerBond, uint256 slashAmount);

    /// @notice Emitted when `signer` deposited `amount` CPT of bond (new total `bond`).
    event SignerBondDeposited(address indexed signer, uint256 amount, uint256 bond);

    /// @notice Emitted when `signer` withdrew `amount` CPT of bond.
    event SignerBondWithdrawn(address indexed signer, uint256 amount, uint256 bond);

    /// @notice Emitted when batch `batchId` was accepted: `entries` reports added whole GPU-seconds (hash
    /// `entriesHash` of the `ComputeTypes.Usage[]`, in report order), final at `finalAt`.
    event BatchAccepted(uint256 indexed batchId, uint256 entries, bytes32 entriesHash, uint40 finalAt);

    /// @notice Emitted when report `index` of batch `batchId` added `gpuSeconds` to job `jobId` on GPU `gpuId`
    /// (cumulative `allocatedGpuMs`); pending until the batch is final.
    event UsageAccepted(
        uint256 indexed batchId,
        uint256 index,
        uint256 indexed jobId,
        bytes32 indexed gpuId,
        uint64 allocatedGpuMs,
        uint256 gpuSeconds
    );

    /// @notice Emitted when report `index` of batch `batchId` (job `jobId`, GPU `gpuId`) was not above the
    /// stored cumulative counter `stored` (stale, repeated or reordered) and added nothing.
    event ReportSkipped(uint256 indexed batchId, uint256 index, uint256 indexed jobId, bytes32 gpuId, uint64 stored);

    /// @notice Emitted when the holder `challenger` challenged entry `index` of batch `batchId` with `bond` CPT.
    event ReportChallenged(uint256 indexed batchId, uint256 index, address indexed challenger, uint256 bond);

    /// @notice Emitted when the arbiter resolved the challenge of entry `index` of batch `batchId`;
    /// `slashed` CPT of signer bonds went to the challenger when `upheld`.
    event ChallengeResolved(uint256 indexed batchId, uint256 index, bool upheld, uint256 slashed);

    /// @notice Emitted when batch `batchId` was final and its usage applied to Jobs.
    event BatchFinalized(uint256 indexed batchId);

    /// @notice Emitted when finalising could not apply entry `index` (job `jobId`) to Jobs; `reason` is
    /// Jobs' revert data. The entry is dropped; the rest of the batch still applies.
    event UsageSkipped(uint256 indexed batchId, uint256 index, uint256 indexed jobId, bytes reason);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Thrown when a batch holds `count` reports (1 to 500 allowed).
    error MeteringOracleBatchSize(uint256 count);

    /// @notice Thrown when report `index` is malformed (SM-active time above allocated time).
    error MeteringOracleMalformedReport(uint256 index);

    /// @notice Thrown when report `index` ends at `periodEnd`, more than 5 minutes (clock drift) after the
    /// block time `now`.
    error MeteringOracleFutureReport(uint256 index, uint64 periodEnd, uint256 now);

    /// @notice Thrown when a signature is not 65 bytes or does not recover (`index` in the signature list).
    error MeteringOracleBadSignature(uint256 index);

    /// @notice Thrown when signature `index` recovered `signer`, which is not in the signer set.
    error MeteringOracleUnknownSigner(uint256 index, address signer);

    /// @notice Thrown when signature `index` recovered `signer`, not above the previous signer (repeated or unsorted).
    error MeteringOracleUnsortedSigner(uint256 index, address signer);

    /// @notice Thrown when `signer`'s bond `bond` is below the required `required`.
    error MeteringOracleSignerUnbonded(address signer, uint256 bond, uint256 required);

    /// @notice Thrown when a batch has `signatures` valid signatures, below the threshold `threshold`.
    error MeteringOracleBelowThreshold(uint256 signatures, uint256 threshold);

    /// @notice Thrown when governance sets an invalid signer set (`count` signers, `threshold`).
    error MeteringOracleInvalidSignerSet(uint256 count, uint8 threshold);

    /// @notice Thrown when the signer set would hold the zero address or a repeated or unsorted `signer`.
    error MeteringOracleInvalidSigner(address signer);

    /// @notice Thrown when a challenge period above the maximum (`challengePeriod`) is set.
    error MeteringOracleInvalidChallengePeriod(uint40 challengePeriod);

    /// @notice Thrown when a bond or slash amount `amount` exceeds 2**88 - 1 CPT wei.
    error MeteringOracleAmountTooLarge(uint256 amount);

    /// @notice Thrown when batch `batchId` does not exist.
    error MeteringOracleUnknownBatch(uint256 batchId);

    /// @notice Thrown when the entries given for batch `batchId` do not hash to the accepted ones.
    error MeteringOracleEntriesMismatch(uint256 batchId);

    /// @notice Thrown when entry `index` does not exist in batch `batchId`.
    error MeteringOracleUnknownEntry(uint256 batchId, uint256 index);

    /// @notice Thrown when batch `batchId` is already final.
    error MeteringOracleBatchFinal(uint256 batchId);

    /// @notice Thrown when the challenge period of batch `batchId` ended at `finalAt`.
    error MeteringOracleChallengePeriodOver(uint256 batchId, uint40 finalAt);

    /// @notice Thrown when batch `batchId` is not final before `finalAt` or has `openChallenges` open.
    error MeteringOracleNotFinalizable(uint256 batchId, uint40 finalAt, uint16 openChallenges);

    /// @notice Thrown when `caller` is not the holder of job `jobId`.
    error MeteringOracleNotHolder(uint256 jobId, address caller);

    /// @notice Thrown when entry `index` of batch `batchId` has challenge status `status` (not the one needed).
    error MeteringOracleChallengeStatus(uint256 batchId, uint256 index, ChallengeStatus status);

    /// @notice Thrown when a zero amount or address is given.
    error MeteringOracleZero();

    /// @notice Thrown when `signer` withdraws `amount` above its bond `bond` or while in the signer set.
    error MeteringOracleBondLocked(address signer, uint256 amount, uint256 bond);

    /// @notice Thrown when the challenge of entry `index` of batch `batchId` is ruled on after `resolveBy`,
    /// or lapsed before it.
    error MeteringOracleRulingWindow(uint256 batchId, uint256 index, uint40 resolveBy);

    /// @notice Thrown when a challenge period exceeds Jobs' settlement grace `grace`: usage would land after
    /// jobs can settle.
    error MeteringOracleGraceTooShort(uint40 challengePeriod, uint40 grace);

    /*//////////////////////////////////////////////////////////////////////////
                                 CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role that resolves challenges.
    function ARBITER_ROLE() external view returns (bytes32);

    /// @notice The most reports one batch may hold (500).
    function MAX_BATCH() external view returns (uint256);

    /// @notice The largest signer set (32).
    function MAX_SIGNERS() external view returns (uint256);

    /// @notice The Jobs contract finalised usage goes to (needs its `METERING_ROLE`).
    function jobs() external view returns (IJobs);

    /// @notice The CPT token of bonds.
    function token() external view returns (IERC20);

    /// @notice The current signer set, threshold and epoch.
    function signers() external view returns (address[] memory, uint8 threshold, uint32 epoch);

    /// @notice Seconds accepted usage stays challengeable.
    function challengePeriod() external view returns (uint40);

    /// @notice The stored cumulative allocated GPU-ms of job `jobId` on GPU `gpuId`.
    function cumulativeMs(uint256 jobId, bytes32 gpuId) external view returns (uint64);

    /// @notice `signer`'s CPT bond.
    function bondOf(address signer) external view returns (uint256);

    /// @notice How many batches were accepted (batch ids are 1..batchCount).
    function batchCount() external view returns (uint256);

    /// @notice Batch `batchId`: when final, open challenges, whether finalised, its entries hash.
    function batchOf(uint256 batchId)
        external
        view
        returns (uint40 finalAt, uint16 openChallenges, bool finalized, bytes32 entriesHash);

    /// @notice The challenge status of entry `index` of batch `batchId`.
    function challengeOf(uint256 batchId, uint256 index) external view returns (ChallengeStatus, address challenger);

    /// @notice The EIP-712 digest signers sign for `reports`.
    function batchDigest(Metering.UsageReport[] calldata reports) external view returns (bytes32);

    /*//////////////////////////////////////////////////////////////////////////
                               NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Accepts a signed batch of cumulative usage reports; returns its batch id.
    /// @dev Requirements:
    /// - 1 to 500 reports, none malformed or dated more than 5 minutes (clock drift) after the block.
    /// - `signatures` from distinct signers of the set in strictly increasing address order, each bonded,
    ///   at least `threshold` of them.
    /// A report that adds nothing (stale) or whose job takes no usage is skipped with `ReportSkipped`.
    /// With a challenge period of 0 the batch is finalised in the same transaction.
    function submit(Metering.UsageReport[] calldata reports, bytes[] calldata signatures)
        external
        returns (uint256 batchId);

    /// @notice Applies the unchallenged usage of batch `batchId` to Jobs; `entries` must be the ones it
    /// accepted. Challenged entries are settled by their ruling instead.
    /// @dev Requirements: the challenge period is over, not finalised yet; reverts (changing nothing) when
    /// Jobs refuses an entry for a reason that may pass (e.g. this contract lost its METERING_ROLE). A Jobs pause
    /// does not stop metering.
    function finalize(uint256 batchId, ComputeTypes.Usage[] calldata entries) external;

    /// @notice The holder of entry `index`'s job challenges it, posting `challengeBond` CPT (approve first).
    /// The entry is held back, and its job cannot settle until the ruling.
    /// @dev Requirements: within the challenge period; the caller holds the job, which still takes usage;
    /// not challenged before.
    function challenge(uint256 batchId, ComputeTypes.Usage[] calldata entries, uint256 index) external;

    /// @notice The arbiter rules on an open challenge by the batch's `resolveBy`: `upheld` voids the entry and
    /// slashes the signers; otherwise the entry bills and the bond goes to the treasury.
    function resolve(uint256 batchId, uint256 index, bool upheld) external;

    /// @notice Anyone ends an open challenge the arbiter did not rule on by the batch's `resolveBy`: the entry
    /// bills and the challenger gets its bond back.
    function lapse(uint256 batchId, uint256 index) external;

    /// @notice When the arbiter's window for challenges of batch `batchId` closes (its final time plus the
    /// challenge period it was submitted under).
    function resolveByOf(uint256 batchId) external view returns (uint40);

    /// @notice Governance replaces the signer set (sorted, distinct, 1..32) and threshold (1..count).
    function setSigners(address[] calldata signers_, uint8 threshold) external;

    /// @notice Governance sets the challenge period (at most 7 days and at most Jobs' settlement grace), the
    /// challenge bond (never zero), the signer bond and the slash amount.
    function setChallengeParams(uint40 challengePeriod_, uint256 challengeBond, uint256 signerBond, uint256 slashAmount)
        external;

    /// @notice A signer deposits `amount` CPT of bond (approve first).
    function depositBond(uint256 amount) external;

    /// @notice A signer no longer in the set withdraws `amount` CPT of its bond.
    function withdrawBond(uint256 amount) external;
}
