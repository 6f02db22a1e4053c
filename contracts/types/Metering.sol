// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Metering
/// @notice The typed usage report the metering oracle signs (EIP-712), defined once.
/// @dev The Python oracle derives its EIP-712 types by parsing the structs below
/// (`oracle/schema.py`); a test proves both sides hash a report identically.
/// Counters are cumulative since the job started on that GPU, so a lost, repeated or
/// reordered report never double counts: a verifier applies only their increase.
library Metering {
    /// @notice One job's cumulative usage of one GPU.
    struct UsageReport {
        uint256 jobId; // the job in Jobs
        bytes32 gpuId; // keccak256 of the GPU's NVML UUID string (e.g. "GPU-5a1c...")
        string gpuModel; // NVML device name, e.g. "NVIDIA H100 80GB HBM3"
        uint64 allocatedGpuMs; // milliseconds the job held the GPU (a process resident)
        uint64 smActiveGpuMs; // milliseconds weighted by the job's SM utilisation
        uint64 energyMj; // the GPU's energy in millijoules, apportioned by SM-activity share
        uint32 sampleCount; // meter samples that saw the job on the GPU
        uint64 periodEnd; // unix seconds at the end of the measured period
    }

    /// @notice Many reports under one set of signatures.
    struct UsageBatch {
        UsageReport[] reports;
    }

    bytes32 internal constant USAGE_REPORT_TYPEHASH = keccak256(
        "UsageReport(uint256 jobId,bytes32 gpuId,string gpuModel,uint64 allocatedGpuMs,"
        "uint64 smActiveGpuMs,uint64 energyMj,uint32 sampleCount,uint64 periodEnd)"
    );

    bytes32 internal constant USAGE_BATCH_TYPEHASH = keccak256(
        "UsageBatch(UsageReport[] reports)UsageReport(uint256 jobId,bytes32 gpuId,string gpuModel,"
        "uint64 allocatedGpuMs,uint64 smActiveGpuMs,uint64 energyMj,uint32 sampleCount,uint64 periodEnd)"
    );

    /// @notice The EIP-712 struct hash of one report.
    function hash(UsageReport memory report) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                USAGE_REPORT_TYPEHASH,
                report.jobId,
                report.gpuId,
                keccak256(bytes(report.gpuModel)),
                report.allocatedGpuMs,
                report.smActiveGpuMs,
                report.energyMj,
                report.sampleCount,
                report.periodEnd
            )
        );
    }

    /// @notice The EIP-712 struct hash of a batch (array members hashed in order).
    function hash(UsageReport[] memory reports) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](reports.length);
        for (uint256 i = 0; i < reports.length; ++i) {
            hashes[i] = hash(reports[i]);
        }
        return keccak256(abi.encode(USAGE_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))));
    }

    /// @notice {hash} of a batch read straight from calldata: the same digest, without decoding the batch into
    /// memory (each report is hashed in scratch space above the free memory pointer, which is not advanced).
    function hashCalldata(UsageReport[] calldata reports) internal pure returns (bytes32) {
        uint256 count = reports.length;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            hashes[i] = hashCalldata(reports[i]);
        }
        return hashOfReportHashes(hashes);
    }

    /// @notice The EIP-712 struct hash of a batch from its reports' struct hashes, in order.
    function hashOfReportHashes(bytes32[] memory hashes) internal pure returns (bytes32) {
        return keccak256(abi.encode(USAGE_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))));
    }

    /// @notice {hash} of one report read straight from calldata.
    function hashCalldata(UsageReport calldata report) internal pure returns (bytes32 digest) {
        string calldata model = report.gpuModel;
        uint256 jobId = report.jobId;
        bytes32 gpuId = report.gpuId;
        uint64 allocated = report.allocatedGpuMs;
        uint64 smActive = report.smActiveGpuMs;
        uint64 energy = report.energyMj;
        uint32 samples = report.sampleCount;
        uint64 periodEnd = report.periodEnd;
        bytes32 typehash = USAGE_REPORT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, model.offset, model.length)
            let modelHash := keccak256(ptr, model.length)
            mstore(ptr, typehash)
            mstore(add(ptr, 0x20), jobId)
            mstore(add(ptr, 0x40), gpuId)
            mstore(add(ptr, 0x60), modelHash)
            mstore(add(ptr, 0x80), allocated)
            mstore(add(ptr, 0xa0), smActive)
            mstore(add(ptr, 0xc0), energy)
            mstore(add(ptr, 0xe0), samples)
            mstore(add(ptr, 0x100), periodEnd)
            digest := keccak256(ptr, 0x120)
        }
    }
}
