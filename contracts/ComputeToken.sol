// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import {IComputeToken} from "./interfaces/IComputeToken.sol";

/// @title ComputeToken
/// @notice See the documentation in {IComputeToken}.
contract ComputeToken is IComputeToken, ERC20Permit, AccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeToken
    bytes32 public constant override MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @dev Upper bound of one drip, so a misconfigured faucet cannot flood a testnet.
    uint256 private constant MAX_FAUCET_AMOUNT = 1_000_000 ether;

    // slot 0 (after ERC20/EIP712 state)
    uint256 private _faucetAmount;
    uint64 private _faucetCooldown;

    mapping(address account => uint64 availableAt) private _faucetAvailableAt;
    mapping(uint256 chainId => bool enabled) private _faucetChains;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `MINTER_ROLE`.
    /// @param initialSupply Minted to `admin`.
    /// @param faucetAmount_ Tokens per faucet call.
    /// @param faucetCooldown_ Seconds between two faucet calls of one address.
    constructor(address admin, uint256 initialSupply, uint256 faucetAmount_, uint64 faucetCooldown_)
        ERC20("GPU Barter Compute Token", "CPT")
        ERC20Permit("GPU Barter Compute Token")
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
        _configureFaucet(faucetAmount_, faucetCooldown_);
        if (initialSupply > 0) _mint(admin, initialSupply);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeToken
    function faucetAmount() external view override returns (uint256) {
        return _faucetAmount;
    }

    /// @inheritdoc IComputeToken
    function faucetCooldown() external view override returns (uint64) {
        return _faucetCooldown;
    }

    /// @inheritdoc IComputeToken
    function faucetAvailableAt(address account) external view override returns (uint64) {
        return _faucetAvailableAt[account];
    }

    /// @inheritdoc IComputeToken
    function isFaucetChain(uint256 chainId) external view override returns (bool) {
        return _faucetChains[chainId];
    }

    /// @dev Resolves the `nonces` clash between ERC20Permit and IERC20Permit.
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IComputeToken
    function faucet() external override {
        // Check: the faucet is on for this chain (fail-closed: only chain ids governance listed as dev/test).
        if (!_faucetChains[block.chainid]) revert ComputeTokenFaucetDisabled(block.chainid);
        // Check: the caller's cooldown has passed.
        uint64 availableAt = _faucetAvailableAt[msg.sender];
        if (block.timestamp < availableAt) revert ComputeTokenFaucetCooldown(msg.sender, availableAt);

        // Effect: start the next cooldown, then mint.
        _faucetAvailableAt[msg.sender] = uint64(block.timestamp) + _faucetCooldown;
        uint256 amount = _faucetAmount;
        _mint(msg.sender, amount);
        emit FaucetDripped(msg.sender, amount);
    }

    /// @inheritdoc IComputeToken
    function mint(address to, uint256 amount) external override onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IComputeToken
    function configureFaucet(uint256 amount, uint64 cooldown) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _configureFaucet(amount, cooldown);
    }

    /// @inheritdoc IComputeToken
    function setFaucetChain(uint256 chainId, bool enabled) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _faucetChains[chainId] = enabled;
        emit FaucetChainSet(chainId, enabled);
    }

    /*//////////////////////////////////////////////////////////////////////////
                             INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _configureFaucet(uint256 amount, uint64 cooldown) private {
        if (amount == 0 || amount > MAX_FAUCET_AMOUNT) revert ComputeTokenInvalidFaucetAmount(amount, MAX_FAUCET_AMOUNT);
        _faucetAmount = amount;
        _faucetCooldown = cooldown;
        emit FaucetConfigured(amount, cooldown);
    }
}
