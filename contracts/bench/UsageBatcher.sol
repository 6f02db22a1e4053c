// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobs} from "../interfaces/IJobs.sol";

/// @title UsageBatcher
/// @notice Gas probe for `gpubarter bench gas`: applies many usage increments in one transaction, as
/// the metering oracle's batch entry point will, to measure the marginal cost of one `applyUsage`.
/// Not part of the protocol; never deployed outside benchmarks (it needs Jobs' `METERING_ROLE`).
contract UsageBatcher {
    IJobs public immutable jobs;

    constructor(IJobs jobs_) {
        jobs = jobs_;
    }

    function applyAll(uint256[] calldata jobIds, uint256[] calldata gpuSeconds) external {
        for (uint256 i = 0; i < jobIds.length; ++i) {
            jobs.applyUsage(jobIds[i], gpuSeconds[i]);
        }
    }
}
