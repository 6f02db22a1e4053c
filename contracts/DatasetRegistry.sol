// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IDatasetRegistry} from "./interfaces/IDatasetRegistry.sol";
import {DatasetTypes} from "./types/DatasetTypes.sol";

/// @title DatasetRegistry
/// @notice See the documentation in {IDatasetRegistry}.
contract DatasetRegistry is IDatasetRegistry, AccessControl, Pausable {
    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDatasetRegistry
    bytes32 public constant override DEAL_ROLE = keccak256("DEAL_ROLE");

    /// @inheritdoc IDatasetRegistry
    bytes32 public constant override PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IDatasetRegistry
    /// @dev Bounds every loop over commitments; fits the uint16 in {DatasetTypes.Dataset}.
    uint256 public constant override MAX_STEPS = 256;

    /// @inheritdoc IDatasetRegistry
    /// @dev A CIDv1 of a sha2-256 digest is 59 characters in base32; room for longer hashes.
    uint256 public constant override MAX_CID_LENGTH = 128;

    uint256 private _datasetCount;

    mapping(uint256 datasetId => DatasetTypes.Dataset dataset) private _datasets;
    mapping(uint256 datasetId => mapping(uint256 step => bytes32 keyCommitment)) private _commitments;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    /// @param admin Receives `DEFAULT_ADMIN_ROLE` (grants `DEAL_ROLE` to the escrow) and `PAUSER_ROLE`.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                     MODIFIERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev Reverts unless `msg.sender` owns `datasetId` (which must exist).
    modifier onlyDatasetOwner(uint256 datasetId) {
        address owner = _existing(datasetId).owner;
        if (msg.sender != owner) revert DatasetRegistryNotOwner(datasetId, msg.sender, owner);
        _;
    }

    /*//////////////////////////////////////////////////////////////////////////
                           USER-FACING CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDatasetRegistry
    function datasetCount() external view override returns (uint256) {
        return _datasetCount;
    }

    /// @inheritdoc IDatasetRegistry
    function getDataset(uint256 datasetId) external view override returns (DatasetTypes.Dataset memory) {
        return _existing(datasetId);
    }

    /// @inheritdoc IDatasetRegistry
    function ownerOf(uint256 datasetId) external view override returns (address) {
        return _existing(datasetId).owner;
    }

    /// @inheritdoc IDatasetRegistry
    function stepCount(uint256 datasetId) external view override returns (uint256) {
        return _existing(datasetId).stepCount;
    }

    /// @inheritdoc IDatasetRegistry
    function isLockedForDeal(uint256 datasetId) external view override returns (bool) {
        return _existing(datasetId).lockedForDeal;
    }

    /// @inheritdoc IDatasetRegistry
    function commitment(uint256 datasetId, uint256 step) external view override returns (bytes32) {
        uint256 k = _existing(datasetId).stepCount;
        if (step >= k) revert DatasetRegistryStepOutOfRange(datasetId, step, k);
        return _commitments[datasetId][step];
    }

    /// @inheritdoc IDatasetRegistry
    function commitments(uint256 datasetId) external view override returns (bytes32[] memory result) {
        uint256 k = _existing(datasetId).stepCount;
        result = new bytes32[](k);
        // Bounded: k <= MAX_STEPS.
        for (uint256 i = 0; i < k; ++i) {
            result[i] = _commitments[datasetId][i];
        }
    }

    /*//////////////////////////////////////////////////////////////////////////
                         USER-FACING NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDatasetRegistry
    function register(
        string calldata manifestCid,
        uint256 stepCount_,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot,
        bytes32 appraisalHash
    ) external override whenNotPaused returns (uint256 datasetId) {
        // Check: the manifest CID, K, the commitments and the Merkle root are well formed.
        _checkCid(manifestCid);
        _checkCommitments(stepCount_, keyCommitments, merkleRoot);

        // Effect: store the dataset under the next id.
        datasetId = ++_datasetCount;
        DatasetTypes.Dataset storage dataset = _datasets[datasetId];
        dataset.owner = msg.sender;
        dataset.stepCount = uint16(stepCount_); // Safe: stepCount_ <= MAX_STEPS < 2^16.
        dataset.registeredAt = uint40(block.timestamp);
        dataset.merkleRoot = merkleRoot;
        dataset.appraisalHash = appraisalHash;
        dataset.manifestCid = manifestCid;
        _writeCommitments(datasetId, keyCommitments);

        emit DatasetRegistered(datasetId, msg.sender, manifestCid, stepCount_, merkleRoot, appraisalHash);
    }

    /// @inheritdoc IDatasetRegistry
    function updateMetadata(uint256 datasetId, string calldata manifestCid, bytes32 appraisalHash)
        external
        override
        whenNotPaused
        onlyDatasetOwner(datasetId)
    {
        // Check: the new manifest CID is well formed.
        _checkCid(manifestCid);

        // Effect: replace the metadata; the commitments are untouched.
        DatasetTypes.Dataset storage dataset = _datasets[datasetId];
        dataset.manifestCid = manifestCid;
        dataset.appraisalHash = appraisalHash;

        emit DatasetMetadataUpdated(datasetId, manifestCid, appraisalHash);
    }

    /// @inheritdoc IDatasetRegistry
    function replaceCommitments(
        uint256 datasetId,
        uint256 stepCount_,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot
    ) external override whenNotPaused onlyDatasetOwner(datasetId) {
        DatasetTypes.Dataset storage dataset = _datasets[datasetId];
        // Check: no deal relies on the commitments yet.
        if (dataset.lockedForDeal) revert DatasetRegistryCommitmentsLocked(datasetId);
        // Check: the new K, commitments and Merkle root are well formed.
        _checkCommitments(stepCount_, keyCommitments, merkleRoot);

        // Effect: replace them. Entries past a smaller new K stay in storage but are never
        // read: every read is bounded by stepCount.
        dataset.stepCount = uint16(stepCount_); // Safe: stepCount_ <= MAX_STEPS < 2^16.
        dataset.merkleRoot = merkleRoot;
        _writeCommitments(datasetId, keyCommitments);

        emit DatasetCommitmentsReplaced(datasetId, stepCount_, merkleRoot);
    }

    /// @inheritdoc IDatasetRegistry
    function transferDatasetOwnership(uint256 datasetId, address newOwner)
        external
        override
        whenNotPaused
        onlyDatasetOwner(datasetId)
    {
        // Check: the dataset cannot be burnt by a transfer to the zero address.
        if (newOwner == address(0)) revert DatasetRegistryInvalidNewOwner(newOwner);

        // Effect: hand it over.
        _datasets[datasetId].owner = newOwner;

        emit DatasetOwnershipTransferred(datasetId, msg.sender, newOwner);
    }

    /// @inheritdoc IDatasetRegistry
    function lockForDeal(uint256 datasetId) external override whenNotPaused onlyRole(DEAL_ROLE) {
        // Check: the dataset exists.
        DatasetTypes.Dataset storage dataset = _existing(datasetId);
        // A dataset may back several deals: locking again changes nothing.
        if (dataset.lockedForDeal) return;

        // Effect: freeze the commitments for good.
        dataset.lockedForDeal = true;

        emit DatasetLockedForDeal(datasetId, msg.sender);
    }

    /// @inheritdoc IDatasetRegistry
    function pause() external override onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IDatasetRegistry
    function unpause() external override onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////////////////
                             INTERNAL CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev The dataset `datasetId`; reverts if it was never registered.
    function _existing(uint256 datasetId) private view returns (DatasetTypes.Dataset storage dataset) {
        dataset = _datasets[datasetId];
        if (dataset.owner == address(0)) revert DatasetRegistryUnknownDataset(datasetId);
    }

    function _checkCid(string calldata manifestCid) private pure {
        uint256 length = bytes(manifestCid).length;
        if (length == 0 || length > MAX_CID_LENGTH) revert DatasetRegistryInvalidManifestCid(length, MAX_CID_LENGTH);
    }

    function _checkCommitments(uint256 stepCount_, bytes32[] calldata keyCommitments, bytes32 merkleRoot)
        private
        pure
    {
        if (stepCount_ == 0 || stepCount_ > MAX_STEPS) revert DatasetRegistryInvalidStepCount(stepCount_, MAX_STEPS);
        if (keyCommitments.length != stepCount_) {
            revert DatasetRegistryCommitmentCountMismatch(stepCount_, keyCommitments.length);
        }
        // Bounded: stepCount_ <= MAX_STEPS.
        for (uint256 i = 0; i < stepCount_; ++i) {
            if (keyCommitments[i] == bytes32(0)) revert DatasetRegistryZeroCommitment(i);
        }
        if (merkleRoot == bytes32(0)) revert DatasetRegistryZeroMerkleRoot();
    }

    /*//////////////////////////////////////////////////////////////////////////
                           INTERNAL NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _writeCommitments(uint256 datasetId, bytes32[] calldata keyCommitments) private {
        mapping(uint256 step => bytes32 keyCommitment) storage stored = _commitments[datasetId];
        uint256 k = keyCommitments.length;
        // Bounded: k <= MAX_STEPS (checked by the caller).
        for (uint256 i = 0; i < k; ++i) {
            stored[i] = keyCommitments[i];
        }
    }
}
