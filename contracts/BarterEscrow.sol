// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBarterEscrow} from "./interfaces/IBarterEscrow.sol";
import {IComputeCredits} from "./interfaces/IComputeCredits.sol";
import {IDatasetRegistry} from "./interfaces/IDatasetRegistry.sol";
import {IJobs} from "./interfaces/IJobs.sol";
import {BarterTypes} from "./types/BarterTypes.sol";

/// @title BarterEscrow
/// @notice See the documentation in {IBarterEscrow}.
contract BarterEscrow is IBarterEscrow, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    IERC20 private immutable _token;
    IComputeCredits private immutable _credits;
    IDatasetRegistry private immutable _datasets;
    IJobs private immutable _jobs;
    uint256 private immutable _minBond;
    uint256 private immutable _disputeBond;

    /// @inheritdoc IBarterEscrow
    uint32 public constant override MIN_KEY_TIMEOUT = 1 hours;

    uint256 private _dealCount;
    mapping(uint256 dealId => BarterTypes.Deal) private _deals;
    /// @dev Per released step, one word: keccak256(abi.encode(R.x, R.y, c)) with its low 40 bits replaced by the
    /// release time (a 216-bit hash stays collision-resistant; one slot keeps release within its gas budget).
    mapping(uint256 dealId => mapping(uint256 step => bytes32 record)) private _releases;
    uint256 private constant TIME_MASK = (1 << 40) - 1;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    constructor(
        IERC20 token,
        IComputeCredits credits,
        IDatasetRegistry datasets,
        IJobs jobs,
        uint256 minBond_,
        uint256 disputeBond_
    ) {
        if (
            address(token) == address(0) || address(credits) == address(0) || address(datasets) == address(0)
                || address(jobs) == address(0) || disputeBond_ == 0 || minBond_ > type(uint128).max
                || disputeBond_ > type(uint128).max
        ) revert EscrowInvalidConfig();
        _token = token;
        _credits = credits;
        _datasets = datasets;
        _jobs = jobs;
        _minBond = minBond_;
        _disputeBond = disputeBond_;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IBarterEscrow
    function minBond() external view override returns (uint256) {
        return _minBond;
    }

    /// @inheritdoc IBarterEscrow
    function disputeBond() external view override returns (uint256) {
        return _disputeBond;
    }

    /// @inheritdoc IBarterEscrow
    function dealCount() external view override returns (uint256) {
        return _dealCount;
    }

    /// @inheritdoc IBarterEscrow
    function dealOf(uint256 dealId) external view override returns (BarterTypes.Deal memory) {
        return _existing(dealId);
    }

    /// @inheritdoc IBarterEscrow
    function dueSteps(uint256 dealId) external view override returns (uint256) {
        BarterTypes.Deal storage d = _existing(dealId);
        if (d.seriesId == 0) return 0;
        uint256 due = _credits.deliveredOf(d.seriesId) * d.steps / d.gpuSeconds;
        return due > d.steps ? d.steps : due;
    }

    /// @inheritdoc IBarterEscrow
    function settlesAt(uint256 dealId) public view override returns (uint256 at) {
        BarterTypes.Deal storage d = _existing(dealId);
        at = uint256(d.end) + _jobs.maxSettlementGrace();
        // The provider keeps one key timeout to dispute the last key released.
        uint256 disputable = d.released == 0 ? 0 : _releasedAt(dealId, d.released) + d.keyTimeout;
        if (disputable > at) at = disputable;
    }

    /// @inheritdoc IBarterEscrow
    function releaseHashOf(uint256 dealId, uint256 step) external view override returns (bytes32) {
        return _releases[dealId][step] & ~bytes32(TIME_MASK);
    }

    /// @inheritdoc IBarterEscrow
    function releasedAtOf(uint256 dealId, uint256 step) external view override returns (uint256) {
        return _releasedAt(dealId, step);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IBarterEscrow
    function offer(BarterTypes.OfferTerms calldata t) external override nonReentrant returns (uint256 dealId) {
        // Check: the terms, then that the caller owns the dataset and K matches its commitments.
        if (t.steps == 0) revert EscrowZeroSteps();
        if (t.gpuSeconds < t.steps) revert EscrowInvalidAmount(t.gpuSeconds, t.steps);
        if (t.start >= t.end || t.end <= block.timestamp) revert EscrowInvalidWindow(t.start, t.end, block.timestamp);
        if (t.keyTimeout < MIN_KEY_TIMEOUT) revert EscrowKeyTimeoutTooShort(t.keyTimeout, MIN_KEY_TIMEOUT);
        if (t.bond < _minBond) revert EscrowBondTooLow(t.bond, _minBond);
        address owner = _datasets.ownerOf(t.datasetId);
        if (owner != msg.sender) revert EscrowNotDatasetOwner(t.datasetId, msg.sender, owner);
        uint256 datasetSteps = _datasets.stepCount(t.datasetId);
        if (datasetSteps != t.steps) revert EscrowStepCountMismatch(t.datasetId, t.steps, datasetSteps);

        // Effect: record the offer.
        dealId = ++_dealCount;
        BarterTypes.Deal storage d = _deals[dealId];
        d.maker = msg.sender;
        d.status = BarterTypes.DealStatus.Offered;
        d.steps = t.steps;
        d.start = t.start;
        d.end = t.end;
        d.gpuSeconds = t.gpuSeconds;
        d.datasetId = SafeCast.toUint64(t.datasetId);
        d.keyTimeout = t.keyTimeout;
        d.classId = t.classId;
        d.bond = t.bond;
        // A placeholder, so that acceptance rewrites a used slot (the cooperative pays for the slot).
        d.keyHash = bytes32(uint256(1));
        emit DealOffered(dealId, msg.sender, t.datasetId, t);

        // Interaction: lock the dataset's commitments (what a provider reviews is what it accepts), take the bond.
        _datasets.lockForDeal(t.datasetId);
        _token.safeTransferFrom(msg.sender, address(this), t.bond);
    }

    /// @inheritdoc IBarterEscrow
    function cancel(uint256 dealId) external override nonReentrant {
        // Check: the maker's open offer.
        BarterTypes.Deal storage d = _existing(dealId);
        if (d.maker != msg.sender) revert EscrowNotMaker(dealId, msg.sender);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Offered);

        // Effect: close it.
        uint256 bond = d.bond;
        d.status = BarterTypes.DealStatus.Cancelled;
        d.bond = 0;
        emit DealCancelled(dealId);

        // Interaction: return the bond.
        _token.safeTransfer(msg.sender, bond);
    }

    /// @inheritdoc IBarterEscrow
    /// @dev No reentrancy guard, to keep acceptance within its gas budget: every effect happens before the
    /// calls, and a re-entrant call during them (from the maker's ERC-1155 hook) sees an accepted deal
    /// with no series yet, for which no step can be due, released, disputed, timed out or settled.
    function accept(uint256 dealId, uint256 px, uint256 py) external override returns (uint256 seriesId) {
        // Check: an open offer whose window has not ended, and a fresh valid public key.
        BarterTypes.Deal storage d = _existing(dealId);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Offered);
        if (d.end <= block.timestamp) revert EscrowInvalidWindow(d.start, d.end, block.timestamp);
        if ((px == 0 && py == 0) || !_isOnCurve(px, py)) revert EscrowInvalidPublicKey(px, py);

        // Effect: the provider and its key.
        d.status = BarterTypes.DealStatus.Accepted;
        d.provider = msg.sender;
        d.keyHash = keccak256(abi.encode(px, py));

        // Interaction: the series with its credits minted to the maker (the credits contract checks the
        // provider and its free stake).
        seriesId =
            _credits.createDataBackedSeries(msg.sender, d.classId, d.start, d.end, dealId, d.maker, d.gpuSeconds);
        // Effect after the call that creates the id (see the note on re-entry above).
        // Cast safe: series ids are sequential from 1; the cooperative refuses ids above 64 bits too.
        d.seriesId = uint64(seriesId);
        emit DealAccepted(dealId, msg.sender, seriesId, px, py);
    }

    /// @inheritdoc IBarterEscrow
    function markDue(uint256 dealId) external override nonReentrant {
        // Check: an accepted deal whose next step is due and not marked.
        BarterTypes.Deal storage d = _existing(dealId);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Accepted);
        if (d.dueSince != 0) revert EscrowAlreadyMarkedDue(dealId, d.dueSince);
        uint256 step = uint256(d.released) + 1;
        _requireDue(dealId, d, step);

        // Effect: start the key-release clock.
        d.dueSince = uint40(block.timestamp);
        emit StepMarkedDue(dealId, step, uint40(block.timestamp));
    }

    /// @inheritdoc IBarterEscrow
    function release(uint256 dealId, uint256 step, uint256 rx, uint256 ry, bytes32 c) external override nonReentrant {
        // Check: R is a curve point other than infinity (the provider's agent can open nothing else), the maker,
        // an accepted deal, the next step, and that it is due.
        if ((rx == 0 && ry == 0) || !_isOnCurve(rx, ry)) revert EscrowInvalidReleasePoint(rx, ry);
        BarterTypes.Deal storage d = _deals[dealId];
        if (d.maker != msg.sender) revert EscrowNotMaker(dealId, msg.sender);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Accepted);
        uint256 expected = uint256(d.released) + 1;
        if (step < expected) revert EscrowStepAlreadyReleased(dealId, step);
        if (step > expected) revert EscrowStepOutOfOrder(dealId, step, expected);
        uint256 delivered = _requireDue(dealId, d, step);

        // Effect: record the sealed key; restart the clock at once when the next step is due already.
        _releases[dealId][step] = _record(rx, ry, c) | bytes32(block.timestamp);
        // Overflow not possible: step <= K, a uint16.
        d.released = uint16(step);
        d.dueSince = delivered * d.steps >= (step + 1) * d.gpuSeconds && step < d.steps ? uint40(block.timestamp) : 0;
        emit KeyReleased(dealId, step, rx, ry, c);
    }

    /// @inheritdoc IBarterEscrow
    function dispute(
        uint256 dealId,
        uint256 step,
        uint256 secret,
        uint256 px,
        uint256 py,
        uint256 rx,
        uint256 ry,
        bytes32 c
    ) external override nonReentrant {
        // Check: the provider of an accepted deal, a released step as given, the deal's public key, and the
        // secret behind it. A lost dispute does not bar the next: each step's key is judged on its own.
        BarterTypes.Deal storage d = _existing(dealId);
        if (d.provider != msg.sender) revert EscrowNotProvider(dealId, msg.sender);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Accepted);
        bytes32 record = _releases[dealId][step];
        if (record == bytes32(0)) revert EscrowStepNotReleased(dealId, step);
        if (record & ~bytes32(TIME_MASK) != _record(rx, ry, c)) revert EscrowReleaseMismatch(dealId, step);
        _checkSecret(dealId, d.keyHash, secret, px, py);
        bool providerWon = _keyIsWrong(d.datasetId, step, secret, rx, ry, c);

        if (providerWon) {
            // Effect: the deal ends at the cooperative's fault.
            uint256 bond = d.bond;
            d.bond = 0;
            d.status = BarterTypes.DealStatus.CooperativeFaulted;
            emit DisputeResolved(dealId, step, true, secret);
            // Interaction: freeze the series, pay the bond to the provider.
            _credits.setFrozen(d.seriesId, true);
            _token.safeTransfer(msg.sender, bond);
        } else {
            // Effect: the secret is public now. Interaction: the provider pays its dispute bond to the maker.
            d.disputed = true;
            emit DisputeResolved(dealId, step, false, secret);
            _token.safeTransferFrom(msg.sender, d.maker, _disputeBond);
        }
    }

    /// @inheritdoc IBarterEscrow
    function claimKeyTimeout(uint256 dealId) external override nonReentrant {
        // Check: an accepted deal with a step marked due longer than the key timeout ago.
        BarterTypes.Deal storage d = _existing(dealId);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Accepted);
        if (d.dueSince == 0) revert EscrowNotMarkedDue(dealId);
        uint256 deadline = uint256(d.dueSince) + d.keyTimeout;
        if (block.timestamp <= deadline) revert EscrowKeyTimeoutNotReached(dealId, deadline);

        // Effect: the deal ends at the cooperative's fault.
        uint256 bond = d.bond;
        d.bond = 0;
        d.status = BarterTypes.DealStatus.CooperativeFaulted;
        emit KeyTimeoutClaimed(dealId, uint256(d.released) + 1, bond);

        // Interaction: freeze the series, pay the provider.
        _credits.setFrozen(d.seriesId, true);
        _token.safeTransfer(d.provider, bond);
    }

    /// @inheritdoc IBarterEscrow
    function settle(uint256 dealId) external override nonReentrant {
        // Check: an accepted deal whose delivered total is final (its window and the jobs' settlement grace are
        // over, and no challenged usage is held), with every due key released. A key still owed is settled by
        // its own clock instead ({markDue}, then {release} or {claimKeyTimeout}): a step that became due late
        // gets the full key timeout.
        BarterTypes.Deal storage d = _existing(dealId);
        _requireStatus(dealId, d, BarterTypes.DealStatus.Accepted);
        uint256 at = settlesAt(dealId); // the delivered total is final and the last key disputable no more
        uint256 seriesId = d.seriesId;
        if (block.timestamp < at) revert EscrowNotSettleable(dealId, at);
        uint256 held = _jobs.seriesHoldsOf(seriesId);
        if (held != 0) revert EscrowUsageHeld(dealId, held);
        uint256 due = _credits.deliveredOf(seriesId) * d.steps / d.gpuSeconds;
        if (d.released < due) revert EscrowKeysOutstanding(dealId, d.released, due);

        // Effect: the cooperative's bond back to it.
        uint256 bond = d.bond;
        d.bond = 0;
        d.status = BarterTypes.DealStatus.Settled;
        emit DealSettled(dealId, bond, 0);

        // Interaction: pay out.
        if (bond != 0) _token.safeTransfer(d.maker, bond);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev keccak256(abi.encode(rx, ry, c)) with its low 40 bits cleared (where a record keeps the release time).
    function _record(uint256 rx, uint256 ry, bytes32 c) private pure returns (bytes32) {
        return keccak256(abi.encode(rx, ry, c)) & ~bytes32(TIME_MASK);
    }

    function _releasedAt(uint256 dealId, uint256 step) private view returns (uint256) {
        return uint256(_releases[dealId][step]) & TIME_MASK;
    }

    function _existing(uint256 dealId) private view returns (BarterTypes.Deal storage d) {
        d = _deals[dealId];
        if (d.status == BarterTypes.DealStatus.None) revert EscrowUnknownDeal(dealId);
    }

    function _requireStatus(uint256 dealId, BarterTypes.Deal storage d, BarterTypes.DealStatus wanted) private view {
        if (d.status != wanted) revert EscrowInvalidStatus(dealId, d.status);
    }

    /// @dev Reverts unless step `step` is due; returns the series' delivered total.
    function _requireDue(uint256 dealId, BarterTypes.Deal storage d, uint256 step)
        private
        view
        returns (uint256 delivered)
    {
        if (step > d.steps) revert EscrowStepNotDue(dealId, step, 0, type(uint256).max);
        delivered = _credits.deliveredOf(d.seriesId);
        if (delivered * d.steps < step * d.gpuSeconds) {
            // Ceil(step * gpuSeconds / K): the delivered total that makes the step due.
            revert EscrowStepNotDue(dealId, step, delivered, (step * d.gpuSeconds + d.steps - 1) / d.steps);
        }
    }

    /// @dev Reverts unless `(px, py)` is the deal's public key and `secret·G` equals it.
    function _checkSecret(uint256 dealId, bytes32 keyHash, uint256 secret, uint256 px, uint256 py) private view {
        if (keyHash != keccak256(abi.encode(px, py))) revert EscrowPublicKeyMismatch(dealId);
        (bool ok, uint256 gx, uint256 gy) = _ecMul(1, 2, secret);
        if (!ok || gx != px || gy != py) revert EscrowWrongSecret(dealId);
    }

    /// @dev The verdict: recomputes key_i = c XOR keccak256(S.x, S.y, i) with S = secret·R and compares
    /// keccak256(key_i) with the registry's commitment of step i - 1. An R off the curve makes the key wrong.
    function _keyIsWrong(uint256 datasetId, uint256 step, uint256 secret, uint256 rx, uint256 ry, bytes32 c)
        private
        view
        returns (bool)
    {
        (bool valid, uint256 sx, uint256 sy) = _ecMul(rx, ry, secret);
        if (!valid) return true;
        bytes32 key = c ^ keccak256(abi.encodePacked(sx, sy, step));
        return keccak256(abi.encodePacked(key)) != _datasets.commitment(datasetId, step - 1);
    }

    /// @dev Whether `(x, y)` is on alt_bn128, through the ecAdd precompile (0x06), which fails on invalid points.
    function _isOnCurve(uint256 x, uint256 y) private view returns (bool ok) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, x)
            mstore(add(m, 0x20), y)
            mstore(add(m, 0x40), 0)
            mstore(add(m, 0x60), 0)
            ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
        }
    }

    /// @dev `s·(x, y)` through the ecMul precompile (0x07); `ok` is false when `(x, y)` is not a curve point.
    function _ecMul(uint256 x, uint256 y, uint256 s) private view returns (bool ok, uint256 rx, uint256 ry) {
        bytes memory out;
        (ok, out) = address(0x07).staticcall(abi.encode(x, y, s));
        if (ok && out.length == 64) (rx, ry) = abi.decode(out, (uint256, uint256));
        else ok = false;
    }
}
