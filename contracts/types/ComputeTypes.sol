// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ComputeTypes
/// @notice Structs and enums of the compute side of the protocol: GPU classes, providers,
/// credit series and jobs. Units: GPU time in GPU-seconds, CPT in wei, times in Unix seconds.
library ComputeTypes {
    /// @notice Parameters governance sets for one standardised GPU slice (e.g. `nvidia-h100-80gb`).
    struct GpuClass {
        // slot 0
        uint128 collateralRate; // CPT wei a provider locks per GPU-second of outstanding credits
        uint32 ackTimeout; // seconds a provider has to acknowledge a job
        uint16 penaltyBps; // penalty on unserved seconds, in basis points of their collateral
        bool active; // new series may be created in this class
    }

    /// @notice A provider's stake. `locked` backs outstanding credits (jobs included); it is part of `stake`.
    struct Provider {
        // slot 0
        uint128 stake; // CPT wei staked and not being unstaked
        uint128 locked; // part of `stake` that cannot be unstaked
        // slot 1
        uint128 unbonding; // CPT wei requested for withdrawal (free stake only: it backs nothing)
        uint40 unbondingEnd; // when `unbonding` can be withdrawn
        uint40 registeredAt; // 0 when not registered
    }

    /// @notice What backs a series' credits.
    enum Backing {
        Stake, // minted by the provider against its free stake
        Deal // minted to a cooperative by the barter escrow for a deal (also within the provider's stake)
    }

    /// @notice The terms of one credit series (one ERC-1155 id). One credit is one GPU-second.
    struct Series {
        // slot 0
        address provider;
        uint16 classId;
        uint40 start; // delivery window start (inclusive)
        uint40 end; // delivery window end (exclusive): credits expire here
        // slot 1
        uint64 minted; // credits ever minted
        uint64 burned; // credits ever burned (delivered + expired)
        uint64 delivered; // credits burned by metered usage
        uint32 ackTimeout; // copied from the class at creation
        uint16 penaltyBps; // copied from the class at creation
        Backing backing;
        bool frozen; // no new jobs (set by the series issuer, e.g. the escrow on a key timeout)
        // slot 2
        uint128 collateralRate; // copied from the class at creation
        uint128 collateral; // CPT wei locked in the registry for this series (>= outstanding * per-credit collateral)
        // slot 3
        uint256 dealId; // barter deal id when `backing == Deal`, else 0
    }

    /// @notice What Jobs needs to know of a series.
    struct JobTerms {
        address provider;
        uint40 end;
        uint32 ackTimeout;
        uint16 penaltyBps;
        uint128 collateralRate;
    }

    /// @notice The life of a job.
    enum JobStatus {
        None,
        Opened, // credits locked, waiting for the provider's acknowledgement
        Acknowledged, // the provider runs it; usage burns credits
        Closing, // the holder closed it; usage measured before still settles until `deadline`
        Served, // every locked credit was delivered
        Closed, // closed by its holder (or by its provider after the cooperative's fault); unused credits returned
        Refunded // claimed by its holder after a default: unserved credits burned and their collateral paid
    }

    /// @notice One job: credits of one series locked for a holder's workload.
    struct Job {
        // slot 0
        address holder;
        uint64 seriesId;
        JobStatus status;
        // slot 1
        uint64 maxSeconds; // credits locked at open
        uint64 usedSeconds; // credits burned by usage
        uint40 ackDeadline; // the provider must acknowledge by then (inclusive)
        uint40 deadline; // served by then (the series' window end); when Closing, when it settles
        uint40 cutoff; // usage lands until then: deadline + the grace at open (later changes do not apply); when
        // Closing, its settlement time
    }

    /// @notice Newly delivered GPU-seconds of one job (what metering applies; increments, not totals).
    struct Usage {
        uint256 jobId;
        uint256 gpuSeconds;
    }
}
