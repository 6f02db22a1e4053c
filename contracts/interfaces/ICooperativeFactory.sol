// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICooperativeFactory
/// @notice Deploys one {IDataCooperative} per cooperative, wired to the protocol's CPT, credits,
/// dataset registry and barter escrow.
interface ICooperativeFactory {
    /// @notice Emitted when cooperative `cooperative` named `name` was created with admin `admin`.
    event CooperativeCreated(address indexed cooperative, address indexed admin, string name);

    /// @notice A zero address at construction or as admin.
    error CooperativeFactoryZeroAddress();

    /// @notice Whether `cooperative` was created by this factory.
    function isCooperative(address cooperative) external view returns (bool);

    /// @notice Creates a cooperative whose admin (and first key agent) is `admin`.
    /// @dev Emits {CooperativeCreated}. Requirements: `admin` is not the zero address.
    function create(address admin, string calldata name) external returns (address cooperative);
}
