// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title IComputeToken
/// @notice The compute token (CPT): the collateral providers stake, the quote asset
/// of the exchange and the bond asset of disputes. ERC-20 with EIP-2612 permit.
/// Test networks get a faucet that is rate-limited per address; governance marks
/// production chain ids, on which the faucet is disabled.
interface IComputeToken is IERC20, IERC20Permit {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `account` took `amount` from the faucet.
    event FaucetDripped(address indexed account, uint256 amount);

    /// @notice Emitted when governance changed the faucet's drip amount or cooldown.
    event FaucetConfigured(uint256 amount, uint64 cooldown);

    /// @notice Emitted when governance marked `chainId` as production (faucet off) or not.
    event ProductionChainSet(uint256 indexed chainId, bool production);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The faucet is disabled because the current chain is marked as production.
    error ComputeTokenFaucetDisabled(uint256 chainId);

    /// @notice `account` used the faucet too recently; it can drip again at `availableAt`.
    error ComputeTokenFaucetCooldown(address account, uint64 availableAt);

    /// @notice A faucet amount of zero, or above `max`, was requested.
    error ComputeTokenInvalidFaucetAmount(uint256 amount, uint256 max);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role allowed to mint outside the faucet (e.g. a treasury or bridge).
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice Tokens one faucet call gives, in wei of CPT.
    function faucetAmount() external view returns (uint256);

    /// @notice Seconds an address must wait between two faucet calls.
    function faucetCooldown() external view returns (uint64);

    /// @notice When `account` may next use the faucet (0 if it never used it).
    function faucetAvailableAt(address account) external view returns (uint64);

    /// @notice Whether governance marked `chainId` as a production chain.
    function isProductionChain(uint256 chainId) external view returns (bool);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Mints `faucetAmount` CPT to the caller.
    /// @dev Emits {FaucetDripped} and {Transfer}.
    ///
    /// Requirements:
    /// - The current chain id must not be marked as production.
    /// - The caller's cooldown must have passed.
    function faucet() external;

    /// @notice Mints `amount` CPT to `to`.
    /// @dev Emits {Transfer}.
    ///
    /// Requirements:
    /// - The caller must have `MINTER_ROLE`.
    function mint(address to, uint256 amount) external;

    /// @notice Sets the faucet's drip amount and cooldown.
    /// @dev Emits {FaucetConfigured}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`.
    /// - `amount` must be greater than zero and at most 1,000,000 CPT.
    /// @param amount Tokens per drip, in wei of CPT.
    /// @param cooldown Seconds between two drips of one address.
    function configureFaucet(uint256 amount, uint64 cooldown) external;

    /// @notice Marks `chainId` as a production chain (faucet disabled) or not.
    /// @dev Emits {ProductionChainSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`.
    function setProductionChain(uint256 chainId, bool production) external;
}
