// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BarterTypes
/// @notice Types of the barter escrow and the data cooperatives. Units: GPU time in
/// GPU-seconds, CPT in wei, times in Unix seconds. Steps of a deal count from 1 (step i
/// releases the key the registry commits to at 0-based index i - 1).
library BarterTypes {
    /// @notice The life of a barter deal.
    enum DealStatus {
        None,
        Offered, // the cooperative's bond is held; the offer can be cancelled or accepted
        Cancelled, // withdrawn before acceptance; bond returned
        Accepted, // a provider accepted: credits minted, keys released step by step
        CooperativeFaulted, // a dispute proved a wrong key, or a due key timed out: bonds went to the provider
        Settled // the window ended and the bonds went to whoever was owed
    }

    /// @notice What a cooperative offers: terms of an offer as passed to {IBarterEscrow-offer}.
    struct OfferTerms {
        uint256 datasetId;
        uint16 classId;
        uint64 gpuSeconds; // GPU-seconds wanted: the credits minted at acceptance
        uint40 start; // delivery window start (inclusive)
        uint40 end; // delivery window end (exclusive)
        uint16 steps; // K: must equal the dataset's step count
        uint32 keyTimeout; // seconds the cooperative has to release a due key once it was marked due
        uint128 bond; // the cooperative's bond in CPT wei (>= the escrow's minimum)
    }

    /// @notice One barter deal.
    struct Deal {
        // slot 0
        address maker; // the cooperative (owner of the dataset)
        DealStatus status;
        uint16 steps; // K
        uint16 released; // keys released so far (steps 1..released)
        uint40 dueSince; // when step released + 1 was marked due; 0 when not marked
        // slot 1
        address provider; // zero until accepted
        uint40 start;
        uint40 end;
        // slot 2
        uint64 seriesId; // the data-backed credit series; 0 until accepted
        uint64 gpuSeconds;
        uint64 datasetId;
        uint32 keyTimeout;
        uint16 classId;
        // slot 3
        uint128 bond; // the cooperative's bond still held
        bool disputed; // the provider disputed once and lost (its secret is public)
        // slot 4
        bytes32 keyHash; // keccak256(abi.encode(P.x, P.y)) of the provider's per-deal public key; 1 until accepted
    }

    /// @notice A cooperative member's claim cursor and latest shares (one slot, written by setShares).
    struct Member {
        // slot 0
        uint64 nextClaim; // the next distribution the member claims; 0 when it never had shares
        uint64 sharesSince; // the distribution count when its shares were last set
        uint128 shares; // its shares since then (its checkpoints hold the history)
    }

    /// @notice Credits of one series a cooperative received in one transfer, shared pro rata
    /// among the members' shares at that moment.
    struct Distribution {
        // slot 0
        uint64 seriesId;
        uint64 amount;
        uint128 totalShares; // total shares when the credits arrived
    }
}
