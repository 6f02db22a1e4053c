// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Metering} from "../types/Metering.sol";

/// @notice Test-only: exposes the metering typehashes and struct hashes so a test can
/// prove the Python oracle derives the same EIP-712 types from `Metering.sol`.
contract MeteringTypesHarness {
    function usageReportTypehash() external pure returns (bytes32) {
        return Metering.USAGE_REPORT_TYPEHASH;
    }

    function usageBatchTypehash() external pure returns (bytes32) {
        return Metering.USAGE_BATCH_TYPEHASH;
    }

    function hashReport(Metering.UsageReport calldata report) external pure returns (bytes32) {
        return Metering.hash(report);
    }

    function hashBatch(Metering.UsageReport[] calldata reports) external pure returns (bytes32) {
        return Metering.hash(reports);
    }

    function hashBatchCalldata(Metering.UsageReport[] calldata reports) external pure returns (bytes32) {
        return Metering.hashCalldata(reports);
    }
}
