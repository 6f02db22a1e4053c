// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IGpuClasses} from "./interfaces/IGpuClasses.sol";
import {ComputeTypes} from "./types/ComputeTypes.sol";

/// @title GpuClasses
/// @notice See the documentation in {IGpuClasses}.
contract GpuClasses is IGpuClasses, AccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGpuClasses
    bytes32 public constant override CLASS_ADMIN_ROLE = keccak256("CLASS_ADMIN_ROLE");

    uint16 private constant MAX_BPS = 10_000;
    uint256 private constant MAX_NAME_LENGTH = 64;

    mapping(uint16 classId => ComputeTypes.GpuClass) private _classes;
    mapping(uint16 classId => string) private _names;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` and `CLASS_ADMIN_ROLE`.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(CLASS_ADMIN_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGpuClasses
    function classOf(uint16 classId) external view override returns (ComputeTypes.GpuClass memory gpuClass) {
        gpuClass = _classes[classId];
        if (gpuClass.collateralRate == 0) revert GpuClassesUnknownClass(classId);
    }

    /// @inheritdoc IGpuClasses
    function nameOf(uint16 classId) external view override returns (string memory) {
        return _names[classId];
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IGpuClasses
    function setClass(
        uint16 classId,
        string calldata name,
        uint128 collateralRate,
        uint32 ackTimeout,
        uint16 penaltyBps,
        bool active
    ) external override onlyRole(CLASS_ADMIN_ROLE) {
        // Check: the parameters are in range.
        if (classId == 0 || collateralRate == 0 || ackTimeout == 0 || penaltyBps > MAX_BPS) {
            revert GpuClassesInvalidParameters(classId, collateralRate, ackTimeout, penaltyBps);
        }
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert GpuClassesInvalidName(classId, name);

        // Effect: store the class.
        _classes[classId] = ComputeTypes.GpuClass({
            collateralRate: collateralRate, ackTimeout: ackTimeout, penaltyBps: penaltyBps, active: active
        });
        _names[classId] = name;
        emit GpuClassSet(classId, name, collateralRate, ackTimeout, penaltyBps, active);
    }
}
