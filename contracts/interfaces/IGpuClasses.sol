// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ComputeTypes} from "../types/ComputeTypes.sol";

/// @title IGpuClasses
/// @notice The governance-controlled list of standardised GPU slices (e.g. `nvidia-h100-80gb`),
/// each with the collateral a provider locks per GPU-second of credits, the time a provider
/// has to acknowledge a job and the penalty for a job not served. A series copies its class's
/// parameters when it is created, so a later change never alters credits already issued.
interface IGpuClasses is IAccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when governance defined or changed class `classId`.
    event GpuClassSet(
        uint16 indexed classId, string name, uint128 collateralRate, uint32 ackTimeout, uint16 penaltyBps, bool active
    );

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Class `classId` was never defined.
    error GpuClassesUnknownClass(uint16 classId);

    /// @notice Parameters out of range: class id 0, an empty or over-long name, a zero
    /// collateral rate or acknowledgement timeout, or a penalty above 100%.
    error GpuClassesInvalidParameters(uint16 classId, uint128 collateralRate, uint32 ackTimeout, uint16 penaltyBps);

    /// @notice The name is empty or longer than 64 bytes.
    error GpuClassesInvalidName(uint16 classId, string name);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role allowed to define and change classes.
    function CLASS_ADMIN_ROLE() external view returns (bytes32);

    /// @notice The parameters of class `classId`.
    /// @dev Reverts with {GpuClassesUnknownClass} for a class never defined.
    function classOf(uint16 classId) external view returns (ComputeTypes.GpuClass memory);

    /// @notice The name of class `classId` (e.g. `nvidia-h100-80gb`); empty if never defined.
    function nameOf(uint16 classId) external view returns (string memory);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Defines class `classId` or changes its parameters. Existing series keep theirs.
    /// @dev Emits {GpuClassSet}.
    ///
    /// Requirements:
    /// - The caller must have `CLASS_ADMIN_ROLE`.
    /// - `classId` must not be 0; `name` must be 1 to 64 bytes.
    /// - `collateralRate` and `ackTimeout` must be greater than zero; `penaltyBps` at most 10,000.
    ///
    /// @param classId The class id (1 to 65,535).
    /// @param name A readable name, e.g. `nvidia-h100-80gb`.
    /// @param collateralRate CPT wei locked per GPU-second of outstanding credits.
    /// @param ackTimeout Seconds a provider has to acknowledge a job.
    /// @param penaltyBps Penalty paid to a holder per unserved GPU-second, in basis points of its collateral.
    /// @param active Whether new series may be created in the class.
    function setClass(
        uint16 classId,
        string calldata name,
        uint128 collateralRate,
        uint32 ackTimeout,
        uint16 penaltyBps,
        bool active
    ) external;
}
