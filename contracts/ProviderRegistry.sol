// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";

/// @title ProviderRegistry
/// @notice See the documentation in {IProviderRegistry}.
contract ProviderRegistry is IProviderRegistry, AccessControl, Pausable {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProviderRegistry
    bytes32 public constant override COLLATERAL_ROLE = keccak256("COLLATERAL_ROLE");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant override SLASHER_ROLE = keccak256("SLASHER_ROLE");
    /// @inheritdoc IProviderRegistry
    bytes32 public constant override PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant MAX_CID_LENGTH = 128;
    uint40 private constant MAX_UNBONDING_PERIOD = 365 days;

    /// @inheritdoc IProviderRegistry
    IERC20 public immutable override token;

    uint40 private _unbondingPeriod;
    mapping(address provider => ComputeTypes.Provider) private _providers;
    mapping(address provider => string metadataCid) private _metadata;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `PAUSER_ROLE`.
    /// @param token_ The compute token (CPT).
    /// @param unbondingPeriod_ Seconds between an unstake request and its withdrawal.
    constructor(address admin, IERC20 token_, uint40 unbondingPeriod_) {
        if (address(token_) == address(0)) revert ProviderRegistryZeroAddress();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setUnbondingPeriod(unbondingPeriod_);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                     MODIFIERS
    //////////////////////////////////////////////////////////////////////////*/

    modifier onlyRegistered() {
        if (_providers[msg.sender].registeredAt == 0) revert ProviderRegistryNotRegistered(msg.sender);
        _;
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProviderRegistry
    function unbondingPeriod() external view override returns (uint40) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IProviderRegistry
    function providerOf(address provider) external view override returns (ComputeTypes.Provider memory) {
        return _providers[provider];
    }

    /// @inheritdoc IProviderRegistry
    function freeStakeOf(address provider) external view override returns (uint256) {
        ComputeTypes.Provider storage p = _providers[provider];
        return p.stake - p.locked;
    }

    /// @inheritdoc IProviderRegistry
    function metadataOf(address provider) external view override returns (string memory) {
        return _metadata[provider];
    }

    /// @inheritdoc IProviderRegistry
    function isRegistered(address provider) external view override returns (bool) {
        return _providers[provider].registeredAt != 0;
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IProviderRegistry
    function register(string calldata metadataCid) external override whenNotPaused {
        // Check: not registered yet, and the CID is well-formed.
        if (_providers[msg.sender].registeredAt != 0) revert ProviderRegistryAlreadyRegistered(msg.sender);
        _checkCid(metadataCid);

        // Effect: record the provider.
        _providers[msg.sender].registeredAt = uint40(block.timestamp);
        _metadata[msg.sender] = metadataCid;
        emit ProviderRegistered(msg.sender, metadataCid);
    }

    /// @inheritdoc IProviderRegistry
    function updateMetadata(string calldata metadataCid) external override onlyRegistered {
        _checkCid(metadataCid);
        _metadata[msg.sender] = metadataCid;
        emit ProviderMetadataUpdated(msg.sender, metadataCid);
    }

    /// @inheritdoc IProviderRegistry
    function stake(uint256 amount) external override whenNotPaused onlyRegistered {
        // Check: a non-zero amount that keeps the stake within 128 bits.
        if (amount == 0) revert ProviderRegistryZeroAmount();
        ComputeTypes.Provider storage p = _providers[msg.sender];
        uint256 newStake = uint256(p.stake) + amount;
        if (newStake > type(uint128).max) revert ProviderRegistryAmountTooLarge(amount);

        // Effect: credit the stake.
        p.stake = uint128(newStake);
        emit Staked(msg.sender, amount, newStake);

        // Interaction: pull the tokens (the registry's own token: no reentrancy into state above).
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IProviderRegistry
    function requestUnstake(uint256 amount) external override whenNotPaused {
        // Check: a non-zero amount within the free stake.
        if (amount == 0) revert ProviderRegistryZeroAmount();
        ComputeTypes.Provider storage p = _providers[msg.sender];
        uint256 free = p.stake - p.locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(msg.sender, amount, free);

        // Effect: move it to unbonding and restart the unbonding clock.
        uint40 end = uint40(block.timestamp) + _unbondingPeriod;
        unchecked {
            // Overflow not possible: amount <= free <= stake.
            p.stake -= uint128(amount);
        }
        uint128 unbonding = p.unbonding + uint128(amount);
        p.unbonding = unbonding;
        p.unbondingEnd = end;
        emit UnstakeRequested(msg.sender, amount, unbonding, end);
    }

    /// @inheritdoc IProviderRegistry
    function withdraw() external override {
        // Check: something is unbonding and its period has passed.
        ComputeTypes.Provider storage p = _providers[msg.sender];
        uint256 amount = p.unbonding;
        if (amount == 0) revert ProviderRegistryNothingToWithdraw(msg.sender);
        if (block.timestamp < p.unbondingEnd) revert ProviderRegistryStillUnbonding(msg.sender, p.unbondingEnd);

        // Effect: clear the unbonding balance.
        p.unbonding = 0;
        p.unbondingEnd = 0;
        emit Withdrawn(msg.sender, amount);

        // Interaction: pay out.
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IProviderRegistry
    function lock(address provider, uint256 amount) external override onlyRole(COLLATERAL_ROLE) {
        // Check: the free stake covers the amount.
        ComputeTypes.Provider storage p = _providers[provider];
        uint256 locked = p.locked;
        uint256 free = p.stake - locked;
        if (amount > free) revert ProviderRegistryInsufficientFreeStake(provider, amount, free);

        // Effect: lock it. Cannot exceed 128 bits: locked + amount <= stake.
        locked += amount;
        p.locked = uint128(locked);
        emit CollateralLocked(provider, msg.sender, amount, locked);
    }

    /// @inheritdoc IProviderRegistry
    function unlock(address provider, uint256 amount) external override onlyRole(COLLATERAL_ROLE) {
        // Check: no more than what is locked.
        ComputeTypes.Provider storage p = _providers[provider];
        uint256 locked = p.locked;
        if (amount > locked) revert ProviderRegistryExceedsLocked(provider, amount, locked);

        // Effect: unlock it.
        unchecked {
            // Overflow not possible: amount <= locked.
            locked -= amount;
        }
        p.locked = uint128(locked);
        emit CollateralUnlocked(provider, msg.sender, amount, locked);
    }

    /// @inheritdoc IProviderRegistry
    function slash(address provider, uint256 amount, address recipient) external override onlyRole(SLASHER_ROLE) {
        // Check: a non-zero amount within the locked stake, to a real recipient.
        if (amount == 0) revert ProviderRegistryZeroAmount();
        if (recipient == address(0)) revert ProviderRegistryZeroAddress();
        ComputeTypes.Provider storage p = _providers[provider];
        uint256 locked = p.locked;
        if (amount > locked) revert ProviderRegistryExceedsLocked(provider, amount, locked);

        // Effect: take it from the locked part of the stake.
        unchecked {
            // Overflow not possible: amount <= locked <= stake.
            p.locked = uint128(locked - amount);
            p.stake -= uint128(amount);
        }
        emit ProviderSlashed(provider, recipient, msg.sender, amount);

        // Interaction: pay the recipient.
        token.safeTransfer(recipient, amount);
    }

    /// @inheritdoc IProviderRegistry
    function setUnbondingPeriod(uint40 unbondingPeriod_) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _setUnbondingPeriod(unbondingPeriod_);
    }

    /// @inheritdoc IProviderRegistry
    function pause() external override onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IProviderRegistry
    function unpause() external override onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////////////////
                             INTERNAL CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _checkCid(string calldata metadataCid) private pure {
        uint256 length = bytes(metadataCid).length;
        if (length == 0 || length > MAX_CID_LENGTH) revert ProviderRegistryInvalidMetadata(metadataCid);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _setUnbondingPeriod(uint40 unbondingPeriod_) private {
        if (unbondingPeriod_ == 0 || unbondingPeriod_ > MAX_UNBONDING_PERIOD) {
            revert ProviderRegistryInvalidUnbondingPeriod(unbondingPeriod_);
        }
        _unbondingPeriod = unbondingPeriod_;
        emit UnbondingPeriodSet(unbondingPeriod_);
    }
}
