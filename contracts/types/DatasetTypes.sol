// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title DatasetTypes
/// @notice Types of the dataset registry.
library DatasetTypes {
    /// @notice A registered dataset. Its bytes live encrypted on IPFS, never on-chain.
    /// @param owner Who may update the metadata, replace the commitments (until a deal
    /// locks them) and transfer the dataset; an account or a cooperative contract.
    /// @param stepCount K: the number of shards, one key and one release step each.
    /// @param lockedForDeal Whether a deal uses the commitments; once true, the
    /// commitments, K and the Merkle root never change again.
    /// @param registeredAt Block timestamp of the registration.
    /// @param merkleRoot Merkle root over the plaintext SHA-256 of each shard.
    /// @param appraisalHash keccak256 of the canonical appraisal report (zero: none yet).
    /// @param manifestCid CID of the manifest on IPFS (CIDv1, base32 text, e.g. "bafkrei...").
    struct Dataset {
        // slot 0
        address owner;
        uint16 stepCount;
        bool lockedForDeal;
        uint40 registeredAt;
        // slot 1
        bytes32 merkleRoot;
        // slot 2
        bytes32 appraisalHash;
        // slot 3 (+ data slots)
        string manifestCid;
    }
}
