// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IJobs} from "./interfaces/IJobs.sol";
import {IMeteringOracle} from "./interfaces/IMeteringOracle.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";
import {Metering} from "./types/Metering.sol";

/// @title MeteringOracle
/// @notice See the documentation in {IMeteringOracle}.
/// @dev External calls go to the protocol's Jobs (trusted, granted `METERING_ROLE`) and the CPT token
/// (no hooks); every state change precedes them.
contract MeteringOracle is IMeteringOracle, AccessControl, EIP712 {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeteringOracle
    bytes32 public constant override ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @inheritdoc IMeteringOracle
    uint256 public constant override MAX_BATCH = 500;
    /// @inheritdoc IMeteringOracle
    uint256 public constant override MAX_SIGNERS = 32;

    uint40 private constant MAX_CHALLENGE_PERIOD = 7 days;
    /// @dev The challenge bond a new oracle starts with (1 CPT): a challenge is never free.
    uint256 private constant DEFAULT_CHALLENGE_BOND = 1 ether;
    /// @dev How far a report's period end may be ahead of the block: the meter's clock and the chain's
    /// (a node that mines on demand, a block a few seconds old) differ slightly; beyond this it is future-dated.
    uint256 private constant MAX_CLOCK_DRIFT = 5 minutes;

    /// @inheritdoc IMeteringOracle
    IJobs public immutable override jobs;
    /// @inheritdoc IMeteringOracle
    IERC20 public immutable override token;
    /// @notice Where forfeited challenge bonds go.
    address public immutable treasury;

    struct Batch {
        // slot 0
        bytes32 entriesHash;
        // slot 1
        uint40 finalAt;
        uint16 openChallenges;
        bool finalized;
        uint32 epoch; // the signer set that signed
        uint32 signerBits; // bit i: the set's signer i signed
        uint32 entryCount;
        uint16 challenges; // challenges ever made: their entries are settled by the ruling, not by finalize
        uint40 resolveBy; // the arbiter rules on challenges until then: finalAt plus the challenge period
    }

    struct Challenge {
        // slot 0
        address challenger;
        uint88 bond;
        ChallengeStatus status;
        // slot 1: the challenged entry
        uint128 jobId;
        uint128 gpuSeconds;
    }

    uint32 private _epoch;
    uint8 private _threshold;
    uint40 private _challengePeriod;
    uint96 private _challengeBond;
    uint96 private _signerBond;
    uint96 private _slashAmount;

    mapping(uint32 epoch => address[]) private _sets;
    mapping(uint32 epoch => mapping(address signer => uint256 indexPlusOne)) private _indexOf;
    mapping(address signer => uint256) private _bonds;
    mapping(address signer => uint256) private _bondUnlocksAt;

    mapping(bytes32 jobGpu => uint64 allocatedMs) private _cumulative;

    uint256 private _batchCount;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 batchId => mapping(uint256 index => Challenge)) private _challenges;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Governance: `DEFAULT_ADMIN_ROLE` and `ARBITER_ROLE`; receives forfeited challenge bonds.
    /// @param jobs_ Jobs (grant this contract its `METERING_ROLE`).
    /// @param token_ The CPT token bonds are posted in.
    /// @param challengePeriod_ Seconds accepted usage stays challengeable (0: final at once).
    constructor(address admin, IJobs jobs_, IERC20 token_, uint40 challengePeriod_)
        EIP712("GPU Barter MeteringOracle", "1")
    {
        if (admin == address(0) || address(jobs_) == address(0) || address(token_) == address(0)) {
            revert MeteringOracleZero();
        }
        jobs = jobs_;
        token = token_;
        treasury = admin;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
        _setChallengeParams(challengePeriod_, DEFAULT_CHALLENGE_BOND, 0, 0);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                 CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeteringOracle
    function signers() external view override returns (address[] memory, uint8 threshold, uint32 epoch) {
        return (_sets[_epoch], _threshold, _epoch);
    }

    /// @inheritdoc IMeteringOracle
    function challengePeriod() external view override returns (uint40) {
        return _challengePeriod;
    }

    /// @notice The challenge bond, the required signer bond and the slash amount per signer (CPT wei).
    function bonds() external view returns (uint256 challengeBond, uint256 signerBond, uint256 slashAmount) {
        return (_challengeBond, _signerBond, _slashAmount);
    }

    /// @inheritdoc IMeteringOracle
    function cumulativeMs(uint256 jobId, bytes32 gpuId) external view override returns (uint64) {
        return _cumulative[_key(jobId, gpuId)];
    }

    /// @inheritdoc IMeteringOracle
    function bondOf(address signer) external view override returns (uint256) {
        return _bonds[signer];
    }

    /// @inheritdoc IMeteringOracle
    function batchCount() external view override returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IMeteringOracle
    function batchOf(uint256 batchId)
        external
        view
        override
        returns (uint40 finalAt, uint16 openChallenges, bool finalized, bytes32 entriesHash)
    {
        Batch storage b = _existing(batchId);
        return (b.finalAt, b.openChallenges, b.finalized, b.entriesHash);
    }

    /// @inheritdoc IMeteringOracle
    function resolveByOf(uint256 batchId) external view override returns (uint40) {
        return _existing(batchId).resolveBy;
    }

    /// @inheritdoc IMeteringOracle
    function challengeOf(uint256 batchId, uint256 index)
        external
        view
        override
        returns (ChallengeStatus, address challenger)
    {
        Challenge storage c = _challenges[batchId][index];
        return (c.status, c.challenger);
    }

    /// @inheritdoc IMeteringOracle
    function batchDigest(Metering.UsageReport[] calldata reports) external view override returns (bytes32) {
        return _hashTypedDataV4(Metering.hashCalldata(reports));
    }

    /*//////////////////////////////////////////////////////////////////////////
                               NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IMeteringOracle
    function submit(Metering.UsageReport[] calldata reports, bytes[] calldata signatures)
        external
        override
        returns (uint256 batchId)
    {
        // Check: size, well-formed and not future-dated reports, a quorum of distinct bonded signers.
        uint256 count = reports.length;
        if (count == 0 || count > MAX_BATCH) revert MeteringOracleBatchSize(count);
        uint32 epoch = _epoch;
        uint32 signerBits = _verify(_hashTypedDataV4(_checkedHash(reports)), signatures, epoch);

        // Effect: advance each cumulative counter; the whole seconds it crossed become an entry.
        unchecked {
            // Overflow not possible: one id per transaction.
            batchId = ++_batchCount;
        }
        ComputeTypes.Usage[] memory entries = _uninitialised(count);
        uint256 n;
        for (uint256 i = 0; i < count; ++i) {
            Metering.UsageReport calldata r = reports[i];
            bytes32 key = _key(r.jobId, r.gpuId);
            uint64 stored = _cumulative[key];
            uint64 reported = r.allocatedGpuMs;
            if (reported <= stored) {
                emit ReportSkipped(batchId, i, r.jobId, r.gpuId, stored);
                continue;
            }
            _cumulative[key] = reported;
            uint256 secs;
            unchecked {
                // Underflow not possible: reported > stored.
                secs = reported / 1000 - stored / 1000;
            }
            if (secs == 0) continue; // the remainder carries in the stored counter
            entries[n] = ComputeTypes.Usage(r.jobId, secs);
            emit UsageAccepted(batchId, n, r.jobId, r.gpuId, reported, secs);
            unchecked {
                ++n;
            }
        }
        assembly ("memory-safe") {
            mstore(entries, n)
        }
        bytes32 entriesHash = keccak256(abi.encode(entries));
        uint40 period = _challengePeriod;
        uint40 finalAt = uint40(block.timestamp) + period;
        bool immediate = period == 0 || n == 0;
        _batches[batchId] = Batch({
            entriesHash: entriesHash,
            finalAt: finalAt,
            openChallenges: 0,
            finalized: immediate,
            epoch: epoch,
            signerBits: signerBits,
            entryCount: uint32(n),
            challenges: 0,
            resolveBy: finalAt + period
        });
        emit BatchAccepted(batchId, n, entriesHash, finalAt);

        // Interaction (protocol): with no challenge period the usage is final now.
        if (immediate && n != 0) _apply(batchId, entries, false);
    }

    /// @inheritdoc IMeteringOracle
    function finalize(uint256 batchId, ComputeTypes.Usage[] calldata entries) external override {
        // Check: the batch is past its challenge period and these are its entries (an open challenge holds
        // back only its own entry).
        Batch storage b = _existing(batchId);
        if (b.finalized) revert MeteringOracleBatchFinal(batchId);
        if (block.timestamp < b.finalAt) revert MeteringOracleNotFinalizable(batchId, b.finalAt, b.openChallenges);
        if (keccak256(abi.encode(entries)) != b.entriesHash) revert MeteringOracleEntriesMismatch(batchId);

        // Effect: final.
        b.finalized = true;

        // Interaction (protocol): apply the unchallenged entries to Jobs.
        _apply(batchId, entries, b.challenges != 0);
    }

    /// @inheritdoc IMeteringOracle
    function challenge(uint256 batchId, ComputeTypes.Usage[] calldata entries, uint256 index) external override {
        // Check: within the period, the entry exists, the caller holds its job, not challenged yet.
        Batch storage b = _existing(batchId);
        if (b.finalized) revert MeteringOracleBatchFinal(batchId);
        if (block.timestamp >= b.finalAt) revert MeteringOracleChallengePeriodOver(batchId, b.finalAt);
        if (keccak256(abi.encode(entries)) != b.entriesHash) revert MeteringOracleEntriesMismatch(batchId);
        if (index >= entries.length) revert MeteringOracleUnknownEntry(batchId, index);
        uint256 jobId = entries[index].jobId;
        if (jobs.jobOf(jobId).holder != msg.sender) revert MeteringOracleNotHolder(jobId, msg.sender);
        Challenge storage c = _challenges[batchId][index];
        if (c.status != ChallengeStatus.None) revert MeteringOracleChallengeStatus(batchId, index, c.status);

        // Effect: record the challenge with its entry; finalisation leaves the entry to the ruling.
        uint88 bond = uint88(_challengeBond);
        // Casts safe: job ids are sequential, and gpuSeconds came from a 64-bit millisecond counter.
        _challenges[batchId][index] = Challenge(
            msg.sender, bond, ChallengeStatus.Open, uint128(jobId), uint128(entries[index].gpuSeconds)
        );
        unchecked {
            // Overflow not possible: at most MAX_BATCH entries per batch.
            ++b.openChallenges;
            ++b.challenges;
        }
        emit ReportChallenged(batchId, index, msg.sender, bond);

        // Interaction (protocol): the job waits for the ruling (reverts if it takes no usage any more).
        jobs.hold(jobId);
        // Interaction: take the bond (never zero).
        token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IMeteringOracle
    function resolve(uint256 batchId, uint256 index, bool upheld) external override onlyRole(ARBITER_ROLE) {
        // Check: within the ruling window (the challenge's status is checked in _close).
        Batch storage b = _existing(batchId);
        if (block.timestamp > b.resolveBy) revert MeteringOracleRulingWindow(batchId, index, b.resolveBy);
        _close(b, batchId, index, upheld ? ChallengeStatus.Upheld : ChallengeStatus.Rejected);
    }

    /// @inheritdoc IMeteringOracle
    function lapse(uint256 batchId, uint256 index) external override {
        // Check: the ruling window is over (the challenge's status is checked in _close).
        Batch storage b = _existing(batchId);
        if (block.timestamp <= b.resolveBy) revert MeteringOracleRulingWindow(batchId, index, b.resolveBy);
        _close(b, batchId, index, ChallengeStatus.Lapsed);
    }

    /// @inheritdoc IMeteringOracle
    function setSigners(address[] calldata signers_, uint8 threshold) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        // Check: 1..MAX_SIGNERS sorted distinct non-zero signers, threshold 1..count.
        uint256 count = signers_.length;
        if (count == 0 || count > MAX_SIGNERS || threshold == 0 || threshold > count) {
            revert MeteringOracleInvalidSignerSet(count, threshold);
        }
        address prev;
        for (uint256 i = 0; i < count; ++i) {
            if (signers_[i] <= prev) revert MeteringOracleInvalidSigner(signers_[i]);
            prev = signers_[i];
        }

        // Effect: a new epoch; leaving signers' bonds unlock one challenge period later (bounded loops).
        uint32 old = _epoch;
        uint32 epoch = old + 1;
        address[] storage oldSet = _sets[old];
        // A batch they signed may be challenged for one period and ruled on for another.
        uint256 unlockAt = block.timestamp + 2 * uint256(_challengePeriod);
        for (uint256 i = 0; i < oldSet.length; ++i) {
            _bondUnlocksAt[oldSet[i]] = unlockAt;
        }
        for (uint256 i = 0; i < count; ++i) {
            _indexOf[epoch][signers_[i]] = i + 1;
            _bondUnlocksAt[signers_[i]] = type(uint256).max;
        }
        _sets[epoch] = signers_;
        _epoch = epoch;
        _threshold = threshold;
        emit SignersSet(epoch, signers_, threshold);
    }

    /// @inheritdoc IMeteringOracle
    function setChallengeParams(uint40 challengePeriod_, uint256 challengeBond, uint256 signerBond, uint256 slashAmount)
        external
        override
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setChallengeParams(challengePeriod_, challengeBond, signerBond, slashAmount);
    }

    /// @inheritdoc IMeteringOracle
    function depositBond(uint256 amount) external override {
        // Check: something to deposit.
        if (amount == 0) revert MeteringOracleZero();

        // Effect: credit the bond.
        uint256 bond = _bonds[msg.sender] + amount;
        _bonds[msg.sender] = bond;
        emit SignerBondDeposited(msg.sender, amount, bond);

        // Interaction: take the CPT.
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMeteringOracle
    function withdrawBond(uint256 amount) external override {
        // Check: not a signer (or left the set a challenge period ago), enough bond.
        if (amount == 0) revert MeteringOracleZero();
        uint256 bond = _bonds[msg.sender];
        if (amount > bond || block.timestamp < _bondUnlocksAt[msg.sender]) {
            revert MeteringOracleBondLocked(msg.sender, amount, bond);
        }

        // Effect: debit the bond.
        unchecked {
            // Underflow not possible: amount <= bond.
            bond -= amount;
        }
        _bonds[msg.sender] = bond;
        emit SignerBondWithdrawn(msg.sender, amount, bond);

        // Interaction: pay out.
        token.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                 PRIVATE FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _key(uint256 jobId, bytes32 gpuId) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, jobId)
            mstore(0x20, gpuId)
            key := keccak256(0x00, 0x40)
        }
    }

    /// @dev The EIP-712 struct hash of a batch (as {Metering-hashCalldata}), checking each report on the way: well
    /// formed and not dated beyond the clock drift after the block.
    function _checkedHash(Metering.UsageReport[] calldata reports) private view returns (bytes32) {
        uint256 count = reports.length;
        uint256 latest = block.timestamp + MAX_CLOCK_DRIFT;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            Metering.UsageReport calldata r = reports[i];
            if (r.smActiveGpuMs > r.allocatedGpuMs) revert MeteringOracleMalformedReport(i);
            if (r.periodEnd > latest) revert MeteringOracleFutureReport(i, r.periodEnd, block.timestamp);
            hashes[i] = Metering.hashCalldata(r);
        }
        return Metering.hashOfReportHashes(hashes);
    }

    /// @dev A memory array of `count` entry pointers, not pointing anywhere yet (cheaper than `new`, which
    /// allocates a zeroed struct per element); the caller writes every element it reads and sets the length.
    function _uninitialised(uint256 count) private pure returns (ComputeTypes.Usage[] memory entries) {
        assembly ("memory-safe") {
            entries := mload(0x40)
            mstore(entries, count)
            mstore(0x40, add(entries, shl(5, add(count, 1))))
        }
    }

    function _existing(uint256 batchId) private view returns (Batch storage b) {
        if (batchId == 0 || batchId > _batchCount) revert MeteringOracleUnknownBatch(batchId);
        return _batches[batchId];
    }

    /// @dev The signer bitmap of a quorum of distinct (strictly increasing), bonded signers of `epoch`.
    function _verify(bytes32 digest, bytes[] calldata signatures, uint32 epoch) private view returns (uint32 bits) {
        uint256 count = signatures.length;
        uint256 required = _signerBond;
        address prev;
        for (uint256 i = 0; i < count; ++i) {
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signatures[i]);
            if (err != ECDSA.RecoverError.NoError) revert MeteringOracleBadSignature(i);
            if (signer <= prev) revert MeteringOracleUnsortedSigner(i, signer);
            uint256 index = _indexOf[epoch][signer];
            if (index == 0) revert MeteringOracleUnknownSigner(i, signer);
            if (required != 0 && _bonds[signer] < required) {
                revert MeteringOracleSignerUnbonded(signer, _bonds[signer], required);
            }
            bits |= uint32(1 << (index - 1));
            prev = signer;
        }
        uint256 threshold = _threshold;
        if (count < threshold || threshold == 0) revert MeteringOracleBelowThreshold(count, threshold);
    }

    /// @dev Ends an open challenge with `outcome`: an upheld one voids the entry, slashes the batch's signers and
    /// pays the challenger; a rejected or lapsed one bills the entry (the bond to the treasury, or back).
    function _close(Batch storage b, uint256 batchId, uint256 index, ChallengeStatus outcome) private {
        // Check: an open challenge.
        Challenge storage c = _challenges[batchId][index];
        if (c.status != ChallengeStatus.Open) revert MeteringOracleChallengeStatus(batchId, index, c.status);

        // Effect: close it; an upheld one slashes the batch's signers.
        c.status = outcome;
        unchecked {
            // Underflow not possible: this challenge is open.
            --b.openChallenges;
        }
        bool upheld = outcome == ChallengeStatus.Upheld;
        uint256 slashed = upheld ? _slash(b.epoch, b.signerBits) : 0;
        if (outcome == ChallengeStatus.Lapsed) emit ChallengeLapsed(batchId, index);
        else emit ChallengeResolved(batchId, index, upheld, slashed);

        // Interaction (protocol): release the job, billing the entry unless voided.
        jobs.releaseHold(c.jobId, upheld ? 0 : c.gpuSeconds);
        // Interaction: the bond (plus the slashed bonds) to the challenger, or the bond to the treasury.
        uint256 bond = c.bond;
        if (outcome == ChallengeStatus.Rejected) token.safeTransfer(treasury, bond);
        else if (bond + slashed != 0) token.safeTransfer(c.challenger, bond + slashed);
    }

    /// @dev Applies entries to Jobs in one call; if Jobs refuses the batch, entry by entry, skipping (with
    /// `UsageSkipped`) each one that can never apply and reverting on any other refusal (a revoked role, out of gas),
    /// so that such a batch stays final-able. With `challenged`, entries under a challenge are left to it.
    function _apply(uint256 batchId, ComputeTypes.Usage[] memory entries, bool challenged) private {
        emit BatchFinalized(batchId);
        ComputeTypes.Usage[] memory applying = challenged ? _unchallenged(batchId, entries) : entries;
        if (applying.length == 0) return;
        IJobs jobs_ = jobs;
        try jobs_.applyUsageBatch(applying) {}
        catch {
            for (uint256 i = 0; i < entries.length; ++i) {
                if (challenged && _challenges[batchId][i].status != ChallengeStatus.None) continue;
                uint256 jobId = entries[i].jobId;
                try jobs_.applyUsage(jobId, entries[i].gpuSeconds) {}
                catch (bytes memory reason) {
                    if (!_neverApplies(reason)) {
                        assembly ("memory-safe") {
                            revert(add(reason, 0x20), mload(reason))
                        }
                    }
                    emit UsageSkipped(batchId, i, jobId, reason);
                }
            }
        }
    }

    /// @dev Whether Jobs refused an entry for good: its job is unknown, not running (not acknowledged, served,
    /// closed, refunded) or past its usage cutoff. Anything else (a revoked role, running out of gas) may pass.
    function _neverApplies(bytes memory reason) private pure returns (bool) {
        if (reason.length < 4) return false;
        bytes4 selector = bytes4(reason);
        return selector == IJobs.JobsUnknownJob.selector || selector == IJobs.JobsInvalidStatus.selector
            || selector == IJobs.JobsUsageTooLate.selector;
    }

    /// @dev `entries` without the challenged ones (their ruling settles them).
    function _unchallenged(uint256 batchId, ComputeTypes.Usage[] memory entries)
        private
        view
        returns (ComputeTypes.Usage[] memory kept)
    {
        kept = new ComputeTypes.Usage[](entries.length);
        uint256 n;
        for (uint256 i = 0; i < entries.length; ++i) {
            if (_challenges[batchId][i].status != ChallengeStatus.None) continue;
            kept[n] = entries[i];
            unchecked {
                ++n;
            }
        }
        assembly ("memory-safe") {
            mstore(kept, n)
        }
    }

    /// @dev Takes up to the slash amount from each signer of the batch; returns the total.
    function _slash(uint32 epoch, uint32 signerBits) private returns (uint256 total) {
        address[] storage set = _sets[epoch];
        uint256 amount = _slashAmount;
        for (uint256 i = 0; i < set.length; ++i) {
            if (signerBits & (1 << i) == 0) continue;
            address signer = set[i];
            uint256 bond = _bonds[signer];
            uint256 take = bond < amount ? bond : amount;
            _bonds[signer] = bond - take;
            total += take;
        }
    }

    function _setChallengeParams(uint40 period, uint256 challengeBond, uint256 signerBond, uint256 slashAmount)
        private
    {
        if (period > MAX_CHALLENGE_PERIOD) revert MeteringOracleInvalidChallengePeriod(period);
        uint40 grace = jobs.settlementGrace();
        if (period > grace) revert MeteringOracleGraceTooShort(period, grace);
        if (challengeBond == 0) revert MeteringOracleZero();
        uint256 largest = challengeBond > signerBond ? challengeBond : signerBond;
        if (slashAmount > largest) largest = slashAmount;
        if (largest > type(uint88).max) revert MeteringOracleAmountTooLarge(largest);
        _challengePeriod = period;
        _challengeBond = uint96(challengeBond);
        _signerBond = uint96(signerBond);
        _slashAmount = uint96(slashAmount);
        emit ChallengeParamsSet(period, challengeBond, signerBond, slashAmount);
    }
}
