// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {DataCooperative} from "./DataCooperative.sol";
import {IBarterEscrow} from "./interfaces/IBarterEscrow.sol";
import {ICooperativeFactory} from "./interfaces/ICooperativeFactory.sol";
import {IDatasetRegistry} from "./interfaces/IDatasetRegistry.sol";

/// @title CooperativeFactory
/// @notice See the documentation in {ICooperativeFactory}.
contract CooperativeFactory is ICooperativeFactory {
    IERC20 private immutable _token;
    IERC1155 private immutable _credits;
    IDatasetRegistry private immutable _datasets;
    IBarterEscrow private immutable _escrow;

    mapping(address cooperative => bool) private _isCooperative;

    constructor(IERC20 token, IERC1155 credits, IDatasetRegistry datasets, IBarterEscrow escrow) {
        if (
            address(token) == address(0) || address(credits) == address(0) || address(datasets) == address(0)
                || address(escrow) == address(0)
        ) revert CooperativeFactoryZeroAddress();
        _token = token;
        _credits = credits;
        _datasets = datasets;
        _escrow = escrow;
    }

    /// @inheritdoc ICooperativeFactory
    function isCooperative(address cooperative) external view override returns (bool) {
        return _isCooperative[cooperative];
    }

    /// @inheritdoc ICooperativeFactory
    function create(address admin, string calldata name) external override returns (address cooperative) {
        if (admin == address(0)) revert CooperativeFactoryZeroAddress();
        cooperative = address(new DataCooperative(admin, _token, _credits, _datasets, _escrow));
        _isCooperative[cooperative] = true;
        emit CooperativeCreated(cooperative, admin, name);
    }
}
