// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {DatasetTypes} from "../types/DatasetTypes.sol";

/// @title IDatasetRegistry
/// @notice Datasets that pay for compute: each is sealed off-chain into K encrypted shards
/// on IPFS and registered here with its manifest CID, one key commitment
/// `keccak256(key_i)` per release step, the Merkle root over the shards' plaintext
/// SHA-256, and the hash of its appraisal.
///
/// The owner (an account, or a cooperative contract) updates the metadata, replaces the
/// commitments and transfers the dataset. A deal contract holding `DEAL_ROLE` (the barter
/// escrow) locks a dataset when a deal starts to use it; from then on its commitments,
/// K and Merkle root never change, so a released key can always be checked against the
/// commitment the provider accepted. Steps count from 0: `commitment(id, i)` commits to
/// the key of shard i. Governance (`PAUSER_ROLE`) can pause every state change.
interface IDatasetRegistry is IAccessControl {
    /*//////////////////////////////////////////////////////////////////////////
                                       EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Emitted when `owner` registered dataset `datasetId`.
    event DatasetRegistered(
        uint256 indexed datasetId,
        address indexed owner,
        string manifestCid,
        uint256 stepCount,
        bytes32 merkleRoot,
        bytes32 appraisalHash
    );

    /// @notice Emitted when the owner replaced the commitments (and K, Merkle root) of an unlocked dataset.
    event DatasetCommitmentsReplaced(uint256 indexed datasetId, uint256 stepCount, bytes32 merkleRoot);

    /// @notice Emitted when the owner updated the manifest CID or the appraisal hash.
    event DatasetMetadataUpdated(uint256 indexed datasetId, string manifestCid, bytes32 appraisalHash);

    /// @notice Emitted when a dataset changed owner.
    event DatasetOwnershipTransferred(
        uint256 indexed datasetId, address indexed previousOwner, address indexed newOwner
    );

    /// @notice Emitted when a deal contract (`by`) first locked the commitments of `datasetId`.
    event DatasetLockedForDeal(uint256 indexed datasetId, address indexed by);

    /*//////////////////////////////////////////////////////////////////////////
                                       ERRORS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice No dataset has id `datasetId`.
    error DatasetRegistryUnknownDataset(uint256 datasetId);

    /// @notice `account` is not the owner (`owner`) of dataset `datasetId`.
    error DatasetRegistryNotOwner(uint256 datasetId, address account, address owner);

    /// @notice K (`stepCount`) must be between 1 and `maxSteps`.
    error DatasetRegistryInvalidStepCount(uint256 stepCount, uint256 maxSteps);

    /// @notice `commitmentCount` commitments were given for K = `stepCount` steps.
    error DatasetRegistryCommitmentCountMismatch(uint256 stepCount, uint256 commitmentCount);

    /// @notice The commitment of step `step` is zero.
    error DatasetRegistryZeroCommitment(uint256 step);

    /// @notice The plaintext Merkle root is zero.
    error DatasetRegistryZeroMerkleRoot();

    /// @notice The manifest CID is empty or longer than `maxLength` bytes (`length`).
    error DatasetRegistryInvalidManifestCid(uint256 length, uint256 maxLength);

    /// @notice A deal uses dataset `datasetId`: its commitments, K and Merkle root are final.
    error DatasetRegistryCommitmentsLocked(uint256 datasetId);

    /// @notice Step `step` does not exist: dataset `datasetId` has `stepCount` steps (0..K-1).
    error DatasetRegistryStepOutOfRange(uint256 datasetId, uint256 step, uint256 stepCount);

    /// @notice A dataset cannot be transferred to `newOwner` (the zero address).
    error DatasetRegistryInvalidNewOwner(address newOwner);

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The role of deal contracts (the barter escrow) allowed to lock commitments.
    function DEAL_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pause and unpause the registry (governance).
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The largest K a dataset may have.
    function MAX_STEPS() external view returns (uint256);

    /// @notice The longest manifest CID accepted, in bytes.
    function MAX_CID_LENGTH() external view returns (uint256);

    /// @notice How many datasets were registered; ids run from 1 to this number.
    function datasetCount() external view returns (uint256);

    /// @notice Everything stored about `datasetId` except its commitments.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id.
    function getDataset(uint256 datasetId) external view returns (DatasetTypes.Dataset memory);

    /// @notice The owner of `datasetId`.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id.
    function ownerOf(uint256 datasetId) external view returns (address);

    /// @notice K of `datasetId`.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id.
    function stepCount(uint256 datasetId) external view returns (uint256);

    /// @notice Whether a deal locked the commitments of `datasetId`.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id.
    function isLockedForDeal(uint256 datasetId) external view returns (bool);

    /// @notice `keccak256(key)` of the key of shard `step` (0-based) of `datasetId`.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id and with
    /// {DatasetRegistryStepOutOfRange} when `step >= K`.
    function commitment(uint256 datasetId, uint256 step) external view returns (bytes32);

    /// @notice All K commitments of `datasetId`, step 0 first.
    /// @dev Reverts with {DatasetRegistryUnknownDataset} for an unknown id.
    function commitments(uint256 datasetId) external view returns (bytes32[] memory);

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice Registers a dataset owned by the caller and returns its id.
    /// @dev Emits {DatasetRegistered}.
    ///
    /// Requirements:
    /// - The registry must not be paused.
    /// - `manifestCid` must be 1 to `MAX_CID_LENGTH` bytes long.
    /// - `stepCount` must be between 1 and `MAX_STEPS`.
    /// - `keyCommitments` must hold exactly `stepCount` entries, none of them zero.
    /// - `merkleRoot` must not be zero.
    /// @param manifestCid CID of the manifest on IPFS.
    /// @param stepCount K, the number of shards and release steps.
    /// @param keyCommitments `keccak256(key_i)` for i = 0..K-1.
    /// @param merkleRoot Merkle root over the plaintext SHA-256 of the shards.
    /// @param appraisalHash keccak256 of the canonical appraisal report; zero if none yet.
    /// @return datasetId The new dataset's id (ids start at 1).
    function register(
        string calldata manifestCid,
        uint256 stepCount,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot,
        bytes32 appraisalHash
    ) external returns (uint256 datasetId);

    /// @notice Replaces the manifest CID and the appraisal hash of `datasetId`.
    /// @dev Emits {DatasetMetadataUpdated}. Allowed after a deal locked the dataset: the
    /// commitments stay as they are.
    ///
    /// Requirements:
    /// - The registry must not be paused.
    /// - The caller must own `datasetId`.
    /// - `manifestCid` must be 1 to `MAX_CID_LENGTH` bytes long.
    function updateMetadata(uint256 datasetId, string calldata manifestCid, bytes32 appraisalHash) external;

    /// @notice Replaces K, the commitments and the Merkle root of `datasetId` (e.g. after resealing).
    /// @dev Emits {DatasetCommitmentsReplaced}.
    ///
    /// Requirements:
    /// - The registry must not be paused.
    /// - The caller must own `datasetId`.
    /// - No deal may have locked `datasetId`.
    /// - `stepCount`, `keyCommitments` and `merkleRoot` as in {register}.
    function replaceCommitments(
        uint256 datasetId,
        uint256 stepCount,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot
    ) external;

    /// @notice Gives `datasetId` to `newOwner` (e.g. the cooperative contract that pools it).
    /// @dev Emits {DatasetOwnershipTransferred}.
    ///
    /// Requirements:
    /// - The registry must not be paused.
    /// - The caller must own `datasetId`.
    /// - `newOwner` must not be the zero address.
    function transferDatasetOwnership(uint256 datasetId, address newOwner) external;

    /// @notice Makes the commitments, K and Merkle root of `datasetId` immutable, because a
    /// deal now relies on them. Locking a locked dataset again succeeds and changes nothing
    /// (one dataset may back several deals).
    /// @dev Emits {DatasetLockedForDeal} the first time.
    ///
    /// Requirements:
    /// - The registry must not be paused.
    /// - The caller must have `DEAL_ROLE`.
    /// - `datasetId` must exist.
    function lockForDeal(uint256 datasetId) external;

    /// @notice Stops every state change of the registry.
    /// @dev Emits {Paused}.
    ///
    /// Requirements:
    /// - The caller must have `PAUSER_ROLE`.
    /// - The registry must not be paused.
    function pause() external;

    /// @notice Resumes the registry.
    /// @dev Emits {Unpaused}.
    ///
    /// Requirements:
    /// - The caller must have `PAUSER_ROLE`.
    /// - The registry must be paused.
    function unpause() external;
}
