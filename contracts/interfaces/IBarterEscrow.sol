// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BarterTypes} from "../types/BarterTypes.sol";

/// @title IBarterEscrow
/// @notice Barter deals: a cooperative pays for GPU time with a dataset, released key by key.
///
/// A cooperative (the dataset's owner in the DatasetRegistry) offers the dataset for `gpuSeconds`
/// GPU-seconds of a class, delivered in a window, in K steps, with a bond in CPT. The offer locks the
/// dataset's commitments in the registry, so the commitments a provider reviews are the ones it
/// accepts (no replacement between offer and acceptance; a cancelled offer leaves them locked).
/// A provider accepts with a fresh per-deal alt_bn128 public key `P = d·G`: the escrow creates a
/// data-backed credit series and mints its `gpuSeconds` credits to the cooperative (locking the
/// provider's stake). The provider's dispute bond is posted with a dispute (approved
/// to the escrow): a false dispute pays it to the cooperative, a won one never takes it. Posting it
/// at dispute time rather than at acceptance keeps acceptance within its gas budget, and a provider
/// that never disputes never locks it. Fresh keys are the provider's own interest (revealing `d`
/// exposes every deal sealed to `P`; the provider could leak its keys anyway), so reuse is not
/// checked on-chain; the provider agent makes a new key pair per deal.
///
/// Step i (1-based) is due once the series' metered delivered total reaches `i * gpuSeconds / K`,
/// that is when `deliveredOf(series) * K >= i * gpuSeconds`; nothing else makes a step due.
///
/// Sealed key release, byte for byte (all integers are 32-byte big-endian words):
/// - the cooperative picks a scalar r and posts `R = r·G` and
///   `c = key_i XOR keccak256(abi.encodePacked(S.x, S.y, uint256(i)))` with `S = r·P` (96 bytes hashed);
/// - the provider computes `S = d·R` and recovers `key_i` the same way;
/// - `key_i` is right, when `keccak256(abi.encodePacked(key_i))` (32 bytes hashed) equals the
///   registry's `commitment(datasetId, i - 1)`.
/// The escrow stores `keccak256(abi.encode(R.x, R.y, c))` per step, and `keccak256(abi.encode(P.x, P.y))`
/// per deal. G is the alt_bn128 generator (1, 2).
///
/// Timeouts: anyone may mark the next step due ({markDue}); if its key is not released within
/// `keyTimeout` (at least {MIN_KEY_TIMEOUT}) of that, the provider takes the cooperative's bond and
/// the series is frozen ({claimKeyTimeout}). Compute not delivered follows the Jobs default path
/// (the credits' collateral paid to the holder). A deal settles ({settle}) only once its delivered
/// total is final: its window and Jobs' largest settlement grace are over ({settlesAt}) and no
/// challenged usage of its series is held. Then, with every due key released, the bond returns to
/// the cooperative; a key still owed runs its own clock (a step that became due at or after the
/// window's end gets the full key timeout), so neither side can settle the other out of a step.
interface IBarterEscrow {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `maker` offered dataset `datasetId` in deal `dealId`.
    event DealOffered(uint256 indexed dealId, address indexed maker, uint256 indexed datasetId, BarterTypes.OfferTerms terms);

    /// @notice Emitted when the maker cancelled offer `dealId` and got its bond back.
    event DealCancelled(uint256 indexed dealId);

    /// @notice Emitted when `provider` accepted deal `dealId` with public key `(px, py)`, and series `seriesId` was created.
    event DealAccepted(uint256 indexed dealId, address indexed provider, uint256 indexed seriesId, uint256 px, uint256 py);

    /// @notice Emitted when step `step` of deal `dealId` was marked due at `dueSince`.
    event StepMarkedDue(uint256 indexed dealId, uint256 step, uint40 dueSince);

    /// @notice Emitted when the key of step `step` of deal `dealId` was released, sealed as `(rx, ry, c)`.
    event KeyReleased(uint256 indexed dealId, uint256 indexed step, uint256 rx, uint256 ry, bytes32 c);

    /// @notice Emitted when the provider's dispute of step `step` was resolved; `providerWon` when the key was wrong.
    event DisputeResolved(uint256 indexed dealId, uint256 indexed step, bool providerWon, uint256 secret);

    /// @notice Emitted when the key of step `step` timed out and `bond` went to the provider.
    event KeyTimeoutClaimed(uint256 indexed dealId, uint256 indexed step, uint256 bond);

    /// @notice Emitted when deal `dealId` settled: `toMaker` and `toProvider` CPT wei returned or paid.
    event DealSettled(uint256 indexed dealId, uint256 toMaker, uint256 toProvider);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice No deal has id `dealId`.
    error EscrowUnknownDeal(uint256 dealId);
    /// @notice K is zero.
    error EscrowZeroSteps();
    /// @notice K (`steps`) differs from the dataset's step count (`datasetSteps`).
    error EscrowStepCountMismatch(uint256 datasetId, uint256 steps, uint256 datasetSteps);
    /// @notice Zero GPU-seconds wanted, or fewer than K.
    error EscrowInvalidAmount(uint256 gpuSeconds, uint256 steps);
    /// @notice The window `[start, end)` is empty or ended at or before `nowTime`.
    error EscrowInvalidWindow(uint40 start, uint40 end, uint256 nowTime);
    /// @notice The bond `bond` is below the minimum `minBond`.
    error EscrowBondTooLow(uint256 bond, uint256 minBond);
    /// @notice `account` does not own dataset `datasetId` (`owner` does).
    error EscrowNotDatasetOwner(uint256 datasetId, address account, address owner);
    /// @notice `account` is not the maker of deal `dealId`.
    error EscrowNotMaker(uint256 dealId, address account);
    /// @notice `account` is not the provider of deal `dealId`.
    error EscrowNotProvider(uint256 dealId, address account);
    /// @notice Deal `dealId` is in status `status`, which does not allow this.
    error EscrowInvalidStatus(uint256 dealId, BarterTypes.DealStatus status);
    /// @notice `(px, py)` is not a point of alt_bn128 other than the point at infinity.
    error EscrowInvalidPublicKey(uint256 px, uint256 py);
    /// @notice Step `step` of deal `dealId` is not due: `delivered` of `needed` GPU-seconds were delivered.
    error EscrowStepNotDue(uint256 dealId, uint256 step, uint256 delivered, uint256 needed);
    /// @notice Step `step` of deal `dealId` was already released.
    error EscrowStepAlreadyReleased(uint256 dealId, uint256 step);
    /// @notice Step `step` of deal `dealId` is out of order: the next step is `expected`.
    error EscrowStepOutOfOrder(uint256 dealId, uint256 step, uint256 expected);
    /// @notice Step `step` of deal `dealId` was not released (or does not exist).
    error EscrowStepNotReleased(uint256 dealId, uint256 step);
    /// @notice The next step of deal `dealId` was already marked due at `dueSince`.
    error EscrowAlreadyMarkedDue(uint256 dealId, uint40 dueSince);
    /// @notice No step of deal `dealId` is marked due.
    error EscrowNotMarkedDue(uint256 dealId);
    /// @notice The key of deal `dealId` may still be released until `deadline`.
    error EscrowKeyTimeoutNotReached(uint256 dealId, uint256 deadline);
    /// @notice The sealed key given for step `step` of deal `dealId` is not the one released.
    error EscrowReleaseMismatch(uint256 dealId, uint256 step);
    /// @notice The public key given is not deal `dealId`'s.
    error EscrowPublicKeyMismatch(uint256 dealId);
    /// @notice The secret revealed for deal `dealId` does not match its public key.
    error EscrowWrongSecret(uint256 dealId);
    /// @notice Deal `dealId` can be settled from `settlesAt` on (its delivered total may still grow until then).
    error EscrowNotSettleable(uint256 dealId, uint256 settlesAt);
    /// @notice `held` challenged usage entries of deal `dealId`'s series are held: its delivered total may still grow.
    error EscrowUsageHeld(uint256 dealId, uint256 held);
    /// @notice Deal `dealId` has released `released` keys of `due` due ones: the owed keys settle by their clock.
    error EscrowKeysOutstanding(uint256 dealId, uint256 released, uint256 due);
    /// @notice A key timeout of `keyTimeout` seconds, below the minimum `minimum`.
    error EscrowKeyTimeoutTooShort(uint32 keyTimeout, uint32 minimum);
    /// @notice The release point `(rx, ry)` is not on alt_bn128, or is infinity: no provider could open it.
    error EscrowInvalidReleasePoint(uint256 rx, uint256 ry);
    /// @notice A zero address or zero parameter at construction.
    error EscrowInvalidConfig();

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The shortest key timeout an offer may set (1 hour): a cooperative always has time to release.
    function MIN_KEY_TIMEOUT() external view returns (uint32);

    /// @notice When deal `dealId` can settle at the earliest: its window end plus Jobs' largest settlement
    /// grace (no usage of its series lands later, unless held by a challenge), and no sooner than one key
    /// timeout after the last key was released (the provider's time to dispute it).
    function settlesAt(uint256 dealId) external view returns (uint256);

    /// @notice The smallest bond, in CPT wei, a cooperative may post with an offer.
    function minBond() external view returns (uint256);

    /// @notice The dispute bond, in CPT wei, a provider posts with a dispute (lost to the cooperative if false).
    function disputeBond() external view returns (uint256);

    /// @notice The number of deals offered; ids run from 1 to this number.
    function dealCount() external view returns (uint256);

    /// @notice Deal `dealId`. Reverts with {EscrowUnknownDeal} for an unknown id.
    function dealOf(uint256 dealId) external view returns (BarterTypes.Deal memory);

    /// @notice The number of steps of deal `dealId` due now (0..K), from the series' delivered total.
    function dueSteps(uint256 dealId) external view returns (uint256);

    /// @notice `keccak256(abi.encode(rx, ry, c))` of the key released for step `step` with its low 40 bits
    /// cleared (the escrow keeps the release time there); zero if none.
    function releaseHashOf(uint256 dealId, uint256 step) external view returns (bytes32);

    /// @notice When the key of step `step` of deal `dealId` was released (0 if not).
    function releasedAtOf(uint256 dealId, uint256 step) external view returns (uint256);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Offers dataset `terms.datasetId` for GPU time, locks its commitments and takes the caller's bond.
    /// @dev Emits {DealOffered}.
    ///
    /// Requirements:
    /// - The caller must own the dataset; `terms.steps` must be non-zero and equal its step count.
    /// - `terms.gpuSeconds >= terms.steps`; `start < end`, `end` in the future; `keyTimeout >= MIN_KEY_TIMEOUT`.
    /// - `terms.bond >= minBond()`, approved to the escrow.
    function offer(BarterTypes.OfferTerms calldata terms) external returns (uint256 dealId);

    /// @notice Withdraws offer `dealId` and returns the bond.
    /// @dev Emits {DealCancelled}. Requirements: the caller is the maker; the deal is `Offered`.
    function cancel(uint256 dealId) external;

    /// @notice Accepts offer `dealId` with the fresh per-deal public key `(px, py)`: creates the
    /// data-backed series and mints its credits to the maker.
    /// @dev Emits {DealAccepted}.
    ///
    /// Requirements:
    /// - The deal is `Offered` and its window has not ended.
    /// - `(px, py)` is a point of alt_bn128 other than infinity.
    /// - The caller is a registered provider whose free stake covers the credits.
    function accept(uint256 dealId, uint256 px, uint256 py) external returns (uint256 seriesId);

    /// @notice Marks the next unreleased step of deal `dealId` due, starting its key-release clock. Anyone may call.
    /// @dev Emits {StepMarkedDue}.
    ///
    /// Requirements: the deal is `Accepted`; its next step is due and not yet marked.
    function markDue(uint256 dealId) external;

    /// @notice Releases the sealed key of step `step` of deal `dealId` (see the encoding above).
    /// @dev Emits {KeyReleased}.
    ///
    /// Requirements:
    /// - `(rx, ry)` is a point of alt_bn128 other than infinity.
    /// - The caller is the maker; the deal is `Accepted`.
    /// - `step` is the next step (`released + 1`) and it is due.
    function release(uint256 dealId, uint256 step, uint256 rx, uint256 ry, bytes32 c) external;

    /// @notice Disputes the key released for step `step` by revealing the per-deal secret `secret`.
    /// If the recomputed key does not match the commitment (or `R` is not a curve point), the
    /// cooperative's bond goes to the provider, the series is frozen and the deal ends; otherwise the
    /// provider pays `disputeBond()` to the maker and the deal goes on. A lost dispute does not bar a
    /// dispute of a later step (each costs the dispute bond if false).
    /// @dev Emits {DisputeResolved}.
    ///
    /// Requirements:
    /// - The caller is the provider; the deal is `Accepted`.
    /// - `step` was released as `(rx, ry, c)`; `(px, py)` is the deal's key and `secret·G == P`.
    /// - For a dispute that turns out false, `disputeBond()` CPT approved to the escrow (else it reverts).
    function dispute(uint256 dealId, uint256 step, uint256 secret, uint256 px, uint256 py, uint256 rx, uint256 ry, bytes32 c)
        external;

    /// @notice Pays the cooperative's bond to the provider, freezes the series and
    /// ends deal `dealId`, because the step marked due was not released in time. Anyone may call.
    /// @dev Emits {KeyTimeoutClaimed}.
    ///
    /// Requirements: the deal is `Accepted`; a step is marked due since more than `keyTimeout` seconds.
    function claimKeyTimeout(uint256 dealId) external;

    /// @notice Settles deal `dealId` once its delivered total is final: the cooperative's bond returns to it.
    /// Anyone may call.
    /// @dev Emits {DealSettled} (`toProvider` is 0: a provider is paid a bond only by {claimKeyTimeout} or
    /// {dispute}).
    ///
    /// Requirements:
    /// - The deal is `Accepted`; `block.timestamp >= settlesAt(dealId)`; no usage of its series is held.
    /// - Every due key was released ({EscrowKeysOutstanding}).
    function settle(uint256 dealId) external;
}
