// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";
import {ISeriesListener} from "./ISeriesListener.sol";

/// @title IComputeCredits
/// @notice GPU-hour credits: an ERC-1155 token with one id per *series*. One unit is one
/// GPU-second of the series' GPU class, deliverable by the series' provider within its window
/// `[start, end)`. A series is backed by the provider's stake: every credit minted locks
/// {collateralPerCredit} = `collateralRate * (1 + penaltyBps / 10_000)` CPT wei of the provider's
/// free stake in the ProviderRegistry. That is what a credit is worth if its provider defaults on
/// it: Jobs burns the unserved credits of a defaulted job and pays their whole collateral to the
/// holder ({compensate}). Nothing else the provider does (unstaking, minting more, opening other
/// series) can reach it, so every outstanding credit is always redeemable or compensable.
///
/// Collateral is touched only when credits are minted or burned, never on transfers, so a
/// credit transfer costs what a plain ERC-1155 transfer costs. Burns (metered delivery through
/// Jobs, expired credits) lower a series' outstanding credits at once; the collateral they
/// free returns to the provider through {releaseCollateral} (which {burnExpired} calls), so the
/// metering path stays cheap. Invariant: `collateral >= (minted - burned) * collateralPerCredit`
/// while the window is open, and `collateral >= custody balance * collateralPerCredit` after it
/// (expired credits outside jobs are owed nothing; those locked in jobs may still default).
///
/// Nobody's credits move or burn without their consent: transfers need the holder or its approved
/// operator (ERC-1155), {burnExpired} too, and the Jobs custody ({custody}) is never burned from
/// except by Jobs itself for delivered or compensated credits.
///
/// Transfers are never paused: holders can always move their claims. Pausing stops series
/// creation and minting.
interface IComputeCredits is IAccessControl, IERC1155MetadataURI {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when series `seriesId` was created with its terms.
    event SeriesCreated(
        uint256 indexed seriesId,
        address indexed provider,
        uint16 indexed classId,
        uint40 start,
        uint40 end,
        ComputeTypes.Backing backing,
        uint256 dealId,
        uint128 collateralRate
    );

    /// @notice Emitted when `amount` CPT wei of collateral no longer needed by series `seriesId` was
    /// returned to its provider's free stake; `collateral` is what the series still locks.
    event CollateralReleased(uint256 indexed seriesId, address indexed provider, uint256 amount, uint256 collateral);

    /// @notice Emitted when the series issuer froze or unfroze series `seriesId` (no new jobs while frozen).
    event SeriesFrozen(uint256 indexed seriesId, bool frozen);

    /// @notice Emitted when `amount` defaulted credits of series `seriesId` were burned from the Jobs custody
    /// and their collateral, `paid` CPT wei, was paid to `holder`.
    event CreditsCompensated(uint256 indexed seriesId, address indexed holder, uint256 amount, uint256 paid);

    /// @notice Emitted when governance set the contract told of every freeze (zero: none).
    event SeriesListenerSet(address listener);

    /// @notice Emitted when governance changed the metadata base URI.
    event BaseURISet(string baseURI);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Series `seriesId` does not exist.
    error ComputeCreditsUnknownSeries(uint256 seriesId);

    /// @notice Class `classId` is not active: no new series in it.
    error ComputeCreditsClassInactive(uint16 classId);

    /// @notice The window `[start, end)` is empty or has already ended at `nowTime`.
    error ComputeCreditsInvalidWindow(uint40 start, uint40 end, uint256 nowTime);

    /// @notice `caller` is not the provider of series `seriesId`.
    error ComputeCreditsNotProvider(uint256 seriesId, address caller);

    /// @notice `provider` is not a registered provider.
    error ComputeCreditsProviderNotRegistered(address provider);

    /// @notice Series `seriesId` is data-backed: only the barter escrow mints it, at creation.
    error ComputeCreditsNotStakeBacked(uint256 seriesId);

    /// @notice An amount of zero credits.
    error ComputeCreditsZeroAmount();

    /// @notice Minting `amount` more credits would overflow series `seriesId`'s 64-bit supply.
    error ComputeCreditsAmountOverflow(uint256 seriesId, uint256 amount);

    /// @notice Series `seriesId`'s window ended at `end`: its credits can no longer be minted or redeemed.
    error ComputeCreditsSeriesExpired(uint256 seriesId, uint40 end);

    /// @notice Series `seriesId`'s window has not ended (it ends at `end`): its credits cannot be burned yet.
    error ComputeCreditsSeriesNotExpired(uint256 seriesId, uint40 end);

    /// @notice Series `seriesId` is frozen: no new jobs.
    error ComputeCreditsSeriesFrozen(uint256 seriesId);

    /// @notice Series `seriesId` has no collateral to release.
    error ComputeCreditsNothingToRelease(uint256 seriesId);

    /// @notice A zero address where a contract or recipient is needed.
    error ComputeCreditsZeroAddress();

    /// @notice `JOBS_ROLE` is held by custody contract `custody` already: there is one Jobs contract per deployment.
    error ComputeCreditsCustodySet(address custody);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role of the barter escrow: creates data-backed series and freezes series.
    function SERIES_ISSUER_ROLE() external view returns (bytes32);

    /// @notice The role of the Jobs contract: takes credits into custody for jobs, returns and burns them.
    function JOBS_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pause series creation and minting.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The terms and counters of series `seriesId`.
    /// @dev Reverts with {ComputeCreditsUnknownSeries} for an id never created.
    function seriesOf(uint256 seriesId) external view returns (ComputeTypes.Series memory);

    /// @notice The terms of series `seriesId` a job needs (provider, window end, acknowledgement
    /// timeout, collateral rate, penalty).
    /// @dev Reverts with {ComputeCreditsUnknownSeries} for an id never created.
    function jobTermsOf(uint256 seriesId) external view returns (ComputeTypes.JobTerms memory);

    /// @notice Credits of series `seriesId` burned by metered delivery, in GPU-seconds (0 if unknown).
    function deliveredOf(uint256 seriesId) external view returns (uint256);

    /// @notice Credits of series `seriesId` minted and not burned (held by anyone, Jobs included).
    function outstandingOf(uint256 seriesId) external view returns (uint256);

    /// @notice CPT wei of collateral locked per credit of series `seriesId`: its collateral rate plus the
    /// penalty on it (`collateralRate + collateralRate * penaltyBps / 10_000`).
    /// @dev Reverts with {ComputeCreditsUnknownSeries} for an id never created.
    function collateralPerCredit(uint256 seriesId) external view returns (uint256);

    /// @notice Whether series `seriesId` is frozen (its cooperative faulted: no new jobs, no trading).
    function isFrozen(uint256 seriesId) external view returns (bool);

    /// @notice The Jobs contract, the one holder of `JOBS_ROLE`, whose balances are credits locked in jobs.
    function custody() external view returns (address);

    /// @notice The contract told of every freeze and unfreeze (the CreditExchange); zero when none.
    function seriesListener() external view returns (ISeriesListener);

    /// @notice The number of series created; ids run from 1 to this number.
    function seriesCount() external view returns (uint256);

    /// @notice The metadata base URI; `uri(id)` is this followed by the decimal id.
    function baseURI() external view returns (string memory);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Creates a stake-backed series of the caller (a registered provider). No credits yet.
    /// @dev Emits {SeriesCreated}.
    ///
    /// Requirements:
    /// - The contract must not be paused; the caller must be a registered provider.
    /// - Class `classId` must exist and be active.
    /// - `start < end` and `end` must be in the future.
    ///
    /// @return seriesId The new series' id (its ERC-1155 token id).
    function createSeries(uint16 classId, uint40 start, uint40 end) external returns (uint256 seriesId);

    /// @notice Creates a data-backed series of `provider` for barter deal `dealId` and mints its
    /// `amount` credits to `to` (the cooperative), locking `amount * collateralPerCredit` of the provider's
    /// free stake.
    /// @dev Emits {SeriesCreated}, {IERC1155-TransferSingle} and the registry's {CollateralLocked}.
    ///
    /// Requirements:
    /// - The contract must not be paused; the caller must have `SERIES_ISSUER_ROLE`.
    /// - As {createSeries} for `provider`; `amount` as {mint}.
    /// - `to` must accept ERC-1155 tokens if it is a contract.
    function createDataBackedSeries(
        address provider,
        uint16 classId,
        uint40 start,
        uint40 end,
        uint256 dealId,
        address to,
        uint256 amount
    ) external returns (uint256 seriesId);

    /// @notice Mints `amount` credits of the caller's stake-backed series `seriesId` to `to`,
    /// locking `amount * collateralPerCredit` CPT wei of the caller's free stake.
    /// @dev Emits {IERC1155-TransferSingle} and the registry's {CollateralLocked}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - The series must exist, be stake-backed, belong to the caller and not have expired.
    /// - `amount` must be greater than zero and keep the series' supply within 64 bits.
    /// - The caller's free stake must cover `amount * collateralPerCredit`.
    /// - `to` must not be the zero address and must accept ERC-1155 tokens if it is a contract.
    function mint(uint256 seriesId, address to, uint256 amount, bytes calldata data) external;

    /// @notice Burns `amount` expired credits of series `seriesId` held by `holder`, and releases the
    /// collateral they no longer need (if {releaseCollateral} has not already). Burning needs the
    /// holder's consent, as a transfer does; the provider does not need it to get its collateral back
    /// ({releaseCollateral} frees expired credits' collateral without burning them).
    /// @dev Emits {IERC1155-TransferSingle} and {CollateralReleased}.
    ///
    /// Requirements:
    /// - The caller must be `holder` or approved by it ({IERC1155-setApprovalForAll}).
    /// - The series' window must have ended.
    /// - `amount` must be greater than zero and at most `holder`'s balance.
    function burnExpired(address holder, uint256 seriesId, uint256 amount) external;

    /// @notice Returns to the provider's free stake the collateral that series `seriesId` holds beyond
    /// what its credits need: `outstanding * collateralPerCredit` while the window is open, and, once it
    /// has ended, only `custody balance * collateralPerCredit` (credits locked in jobs). Anyone may call it.
    /// @dev Emits {CollateralReleased} and the registry's {CollateralUnlocked}.
    ///
    /// Requirements:
    /// - The series must exist and hold collateral beyond what its outstanding credits need.
    function releaseCollateral(uint256 seriesId) external;

    /// @notice Freezes or unfreezes series `seriesId`: no new jobs and no exchange fills while frozen; its
    /// provider may close the jobs already open without penalty (see {IJobs-close}).
    /// @dev Emits {SeriesFrozen}; calls the series listener ({seriesListener}) when one is set.
    ///
    /// Requirements:
    /// - The caller must have `SERIES_ISSUER_ROLE`; the series must exist.
    function setFrozen(uint256 seriesId, bool frozen) external;

    /// @notice Moves `amount` credits of series `seriesId` from `holder` into the caller's custody for a job.
    /// No ERC-1155 acceptance check: the caller is the Jobs contract.
    /// @dev Emits {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The caller must have `JOBS_ROLE`.
    /// - The series must exist, not be frozen and its window must not have ended.
    /// - `holder` must hold `amount`.
    ///
    /// @return terms The series' terms a job needs.
    function lockForJob(address holder, uint256 seriesId, uint256 amount)
        external
        returns (ComputeTypes.JobTerms memory terms);

    /// @notice Returns `amount` credits of series `seriesId` from the caller's custody to `holder`.
    /// No ERC-1155 acceptance check, so a holder contract can always get its credits back.
    /// @dev Emits {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The caller must have `JOBS_ROLE` and hold `amount`.
    function returnFromJob(address holder, uint256 seriesId, uint256 amount) external;

    /// @notice Burns `amount` credits of series `seriesId` from the caller's custody as metered delivery
    /// and adds them to the series' delivered total (Jobs emits `UsageApplied` with the new total).
    /// @dev Emits {IERC1155-TransferSingle}.
    ///
    /// Requirements:
    /// - The caller must have `JOBS_ROLE` and hold `amount`.
    ///
    /// @return delivered The series' new delivered total.
    function burnDelivered(uint256 seriesId, uint256 amount) external returns (uint256 delivered);

    /// @notice Burns `amount` credits of series `seriesId` from the caller's custody for a defaulted job and
    /// pays their collateral (`amount * collateralPerCredit`) from the provider's locked stake to `holder`.
    /// @dev Emits {IERC1155-TransferSingle}, {CreditsCompensated} and the registry's {ProviderSlashed}.
    ///
    /// Requirements:
    /// - The caller must have `JOBS_ROLE` and hold `amount`.
    /// - This contract must have the registry's `SLASHER_ROLE`.
    ///
    /// @return paid The CPT wei paid to `holder`.
    function compensate(uint256 seriesId, uint256 amount, address holder) external returns (uint256 paid);

    /// @notice Sets the contract told of every freeze and unfreeze ({ISeriesListener-cacheSeries}).
    /// @dev Emits {SeriesListenerSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`.
    function setSeriesListener(ISeriesListener listener) external;

    /// @notice Sets the metadata base URI.
    /// @dev Emits {BaseURISet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`.
    function setBaseURI(string calldata baseURI_) external;

    /// @notice Pauses series creation and minting.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function pause() external;

    /// @notice Unpauses.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function unpause() external;
}
