// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";

/// @title IProviderRegistry
/// @notice Compute providers: registration with a metadata CID (hardware, region, classes on
/// IPFS), CPT stake, unstaking through an unbonding period, and the collateral that backs
/// outstanding credits and open jobs.
///
/// A provider's `stake` splits into `locked` (backing credits and open jobs; only protocol
/// contracts holding `COLLATERAL_ROLE` move it) and free stake (`stake - locked`), which is
/// what new credits may be minted against and what may be unstaked. Unstaked CPT waits in
/// `unbonding` until the unbonding period has passed. Only contracts holding `SLASHER_ROLE`
/// (the protocol contracts that prove a fault, e.g. Jobs) can slash, and only locked stake.
///
/// The registry holds exactly Σ (stake + unbonding) CPT over all providers.
interface IProviderRegistry is IAccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `provider` registered with metadata at `metadataCid`.
    event ProviderRegistered(address indexed provider, string metadataCid);

    /// @notice Emitted when `provider` replaced its metadata CID.
    event ProviderMetadataUpdated(address indexed provider, string metadataCid);

    /// @notice Emitted when `provider` staked `amount`; `stake` is its new stake.
    event Staked(address indexed provider, uint256 amount, uint256 stake);

    /// @notice Emitted when `provider` moved `amount` from free stake to unbonding; all of its
    /// `unbonding` CPT can be withdrawn at `unbondingEnd`.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unbonding, uint40 unbondingEnd);

    /// @notice Emitted when `provider` withdrew `amount` of unbonded CPT.
    event Withdrawn(address indexed provider, uint256 amount);

    /// @notice Emitted when protocol contract `by` locked `amount` of `provider`'s stake; `locked` is the new total.
    event CollateralLocked(address indexed provider, address indexed by, uint256 amount, uint256 locked);

    /// @notice Emitted when protocol contract `by` unlocked `amount` of `provider`'s stake; `locked` is the new total.
    event CollateralUnlocked(address indexed provider, address indexed by, uint256 amount, uint256 locked);

    /// @notice Emitted when protocol contract `by` slashed `amount` of `provider`'s locked stake to `recipient`.
    event ProviderSlashed(address indexed provider, address indexed recipient, address indexed by, uint256 amount);

    /// @notice Emitted when governance set the unbonding period.
    event UnbondingPeriodSet(uint40 unbondingPeriod);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice `provider` is already registered.
    error ProviderRegistryAlreadyRegistered(address provider);

    /// @notice `provider` is not registered.
    error ProviderRegistryNotRegistered(address provider);

    /// @notice The metadata CID is empty or longer than 128 bytes.
    error ProviderRegistryInvalidMetadata(string metadataCid);

    /// @notice An amount of zero was given.
    error ProviderRegistryZeroAmount();

    /// @notice `amount` does not fit the registry's 128-bit accounting.
    error ProviderRegistryAmountTooLarge(uint256 amount);

    /// @notice `provider`'s free stake (`free`) does not cover `requested`.
    error ProviderRegistryInsufficientFreeStake(address provider, uint256 requested, uint256 free);

    /// @notice Unlocking or slashing `amount` exceeds `provider`'s locked stake `locked`.
    error ProviderRegistryExceedsLocked(address provider, uint256 amount, uint256 locked);

    /// @notice `provider` has nothing unbonding to withdraw.
    error ProviderRegistryNothingToWithdraw(address provider);

    /// @notice `provider`'s unbonding CPT can only be withdrawn at `unbondingEnd`.
    error ProviderRegistryStillUnbonding(address provider, uint40 unbondingEnd);

    /// @notice A slash to the zero address, or a zero-address token at deployment.
    error ProviderRegistryZeroAddress();

    /// @notice An unbonding period of zero or above 365 days.
    error ProviderRegistryInvalidUnbondingPeriod(uint40 unbondingPeriod);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role of protocol contracts that lock and unlock collateral (ComputeCredits, Jobs).
    function COLLATERAL_ROLE() external view returns (bytes32);

    /// @notice The role of protocol contracts that prove faults and slash (Jobs, the barter escrow).
    function SLASHER_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pause registration, staking and unstaking.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The compute token staked here.
    function token() external view returns (IERC20);

    /// @notice Seconds between an unstake request and the withdrawal.
    function unbondingPeriod() external view returns (uint40);

    /// @notice The stake record of `provider` (all zero if never registered).
    function providerOf(address provider) external view returns (ComputeTypes.Provider memory);

    /// @notice Stake of `provider` not locked: what it may mint against or unstake.
    function freeStakeOf(address provider) external view returns (uint256);

    /// @notice The metadata CID of `provider` (empty if not registered).
    function metadataOf(address provider) external view returns (string memory);

    /// @notice Whether `provider` is registered.
    function isRegistered(address provider) external view returns (bool);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller as a provider.
    /// @dev Emits {ProviderRegistered}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - The caller must not be registered.
    /// - `metadataCid` must be 1 to 128 bytes.
    function register(string calldata metadataCid) external;

    /// @notice Replaces the caller's metadata CID.
    /// @dev Emits {ProviderMetadataUpdated}.
    ///
    /// Requirements:
    /// - The caller must be registered; `metadataCid` must be 1 to 128 bytes.
    function updateMetadata(string calldata metadataCid) external;

    /// @notice Stakes `amount` CPT from the caller (approve the registry first).
    /// @dev Emits {Staked}.
    ///
    /// Requirements:
    /// - The contract must not be paused; the caller must be registered.
    /// - `amount` must be greater than zero and the new stake must fit in 128 bits.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of the caller's free stake to unbonding. The unbonding clock restarts
    /// for everything unbonding, so a provider cannot split requests to shorten it.
    /// @dev Emits {UnstakeRequested}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - `amount` must be greater than zero and at most the caller's free stake.
    function requestUnstake(uint256 amount) external;

    /// @notice Sends the caller's unbonded CPT to the caller.
    /// @dev Emits {Withdrawn}.
    ///
    /// Requirements:
    /// - The contract must not be paused.
    /// - The caller must have CPT unbonding, and its unbonding period must have ended.
    function withdraw() external;

    /// @notice Locks `amount` of `provider`'s free stake as collateral.
    /// @dev Emits {CollateralLocked}.
    ///
    /// Requirements:
    /// - The caller must have `COLLATERAL_ROLE`.
    /// - `amount` must be at most `provider`'s free stake.
    function lock(address provider, uint256 amount) external;

    /// @notice Unlocks `amount` of `provider`'s locked stake.
    /// @dev Emits {CollateralUnlocked}.
    ///
    /// Requirements:
    /// - The caller must have `COLLATERAL_ROLE`.
    /// - `amount` must be at most `provider`'s locked stake.
    function unlock(address provider, uint256 amount) external;

    /// @notice Slashes `amount` of `provider`'s locked stake and sends it to `recipient`.
    /// Works while paused: a fault proven must be paid.
    /// @dev Emits {ProviderSlashed} and {IERC20-Transfer}.
    ///
    /// Requirements:
    /// - The caller must have `SLASHER_ROLE`.
    /// - `amount` must be greater than zero and at most `provider`'s locked stake.
    /// - `recipient` must not be the zero address.
    function slash(address provider, uint256 amount, address recipient) external;

    /// @notice Sets the unbonding period for future unstake requests.
    /// @dev Emits {UnbondingPeriodSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`; the period must be 1 second to 365 days.
    function setUnbondingPeriod(uint40 unbondingPeriod_) external;

    /// @notice Pauses registration, staking, unstaking and withdrawal.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function pause() external;

    /// @notice Unpauses.
    /// @dev Requirements: the caller must have `PAUSER_ROLE`.
    function unpause() external;
}
