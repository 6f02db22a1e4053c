// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title IComputeToken
/// @notice The compute token (CPT): the collateral providers stake, the quote asset
/// of the exchange and the bond asset of disputes. ERC-20 with EIP-2612 permit.
/// Test networks get a faucet that is rate-limited per address. It is fail-closed: it works only
/// on chain ids governance listed as dev/test ({setFaucetChain}); on any other chain it is off.
interface IComputeToken is IERC20, IERC20Permit {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `account` took `amount` from the faucet.
    event FaucetDripped(address indexed account, uint256 amount);

    /// @notice Emitted when governance changed the faucet's drip amount or cooldown.
    event FaucetConfigured(uint256 amount, uint64 cooldown);

    /// @notice Emitted when governance listed `chainId` as a dev/test chain (faucet on) or took it off the list.
    event FaucetChainSet(uint256 indexed chainId, bool enabled);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The faucet is off on chain `chainId`: it is not listed as a dev/test chain.
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

    /// @notice Whether governance listed `chainId` as a dev/test chain, where the faucet works.
    function isFaucetChain(uint256 chainId) external view returns (bool);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Mints `faucetAmount` CPT to the caller.
    /// @dev Emits {FaucetDripped} and {Transfer}.
    ///
    /// Requirements:
    /// - The current chain id must be listed as a dev/test chain ({isFaucetChain}).
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

    /// @notice Lists `chainId` as a dev/test chain (faucet on) or takes it off the list (faucet off).
    /// @dev Emits {FaucetChainSet}.
    ///
    /// Requirements:
    /// - The caller must have `DEFAULT_ADMIN_ROLE`.
    function setFaucetChain(uint256 chainId, bool enabled) external;
}
