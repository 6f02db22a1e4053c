// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {IBarterEscrow} from "./interfaces/IBarterEscrow.sol";
import {IDataCooperative} from "./interfaces/IDataCooperative.sol";
import {IDatasetRegistry} from "./interfaces/IDatasetRegistry.sol";
import {BarterTypes} from "./types/BarterTypes.sol";

/// @title DataCooperative
/// @notice See the documentation in {IDataCooperative}.
contract DataCooperative is IDataCooperative, AccessControl {
    using Checkpoints for Checkpoints.Trace208;
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////////////////
                                  STATE VARIABLES
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDataCooperative
    bytes32 public constant override KEY_AGENT_ROLE = keccak256("KEY_AGENT_ROLE");

    IERC20 private immutable _token;
    IERC1155 private immutable _credits;
    IDatasetRegistry private immutable _datasets;
    IBarterEscrow private immutable _escrow;

    /// @dev Shares keyed by the distribution count when they were set: distribution n sees key n - 1.
    mapping(address member => Checkpoints.Trace208) private _shares;
    // slot: packed, so that opening a distribution rewrites the slot it reads the total shares from
    uint128 private _totalShares;
    uint128 private _distributionCount;
    mapping(uint256 distributionId => BarterTypes.Distribution) private _distributions;
    /// @dev The member's claim cursor and latest shares in one slot, written by {setShares}: a claim reads
    /// and rewrites only this slot of the member's (no checkpoint lookup unless its shares changed after
    /// the distribution it claims).
    mapping(address member => BarterTypes.Member) private _members;

    /*//////////////////////////////////////////////////////////////////////////
                                    CONSTRUCTOR
    //////////////////////////////////////////////////////////////////////////*/

    constructor(address admin, IERC20 token, IERC1155 credits, IDatasetRegistry datasets, IBarterEscrow escrow) {
        if (
            admin == address(0) || address(token) == address(0) || address(credits) == address(0)
                || address(datasets) == address(0) || address(escrow) == address(0)
        ) revert CooperativeZeroAddress();
        _token = token;
        _credits = credits;
        _datasets = datasets;
        _escrow = escrow;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(KEY_AGENT_ROLE, admin);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                  VIEW FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDataCooperative
    function sharesOf(address member) external view override returns (uint256) {
        return _shares[member].latest();
    }

    /// @inheritdoc IDataCooperative
    function totalShares() external view override returns (uint256) {
        return _totalShares;
    }

    /// @inheritdoc IDataCooperative
    function distributionCount() external view override returns (uint256) {
        return _distributionCount;
    }

    /// @inheritdoc IDataCooperative
    function distributionOf(uint256 distributionId) external view override returns (BarterTypes.Distribution memory) {
        return _existing(distributionId);
    }

    /// @inheritdoc IDataCooperative
    function claimable(uint256 distributionId, address member) external view override returns (uint256) {
        BarterTypes.Member memory m = _members[member];
        if (m.nextClaim == 0 || distributionId < m.nextClaim) return 0;
        return _partOf(_existing(distributionId), distributionId, member, m);
    }

    /// @inheritdoc IDataCooperative
    function claimed(uint256 distributionId, address member) external view override returns (bool) {
        return distributionId < _members[member].nextClaim;
    }

    /// @inheritdoc IDataCooperative
    function nextClaimOf(address member) external view override returns (uint256) {
        return _members[member].nextClaim;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                NON-CONSTANT FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @inheritdoc IDataCooperative
    function setShares(address member, uint256 shares) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        // Check: a member address and a total within 128 bits.
        if (member == address(0)) revert CooperativeZeroAddress();
        uint256 total = _totalShares - _shares[member].latest() + shares;
        if (total > type(uint128).max) revert CooperativeSharesTooLarge(shares);

        // Effect: a checkpoint seen by distributions opened from now on; the member's slot (a new
        // member's cursor starts at the next distribution).
        uint128 count = _distributionCount;
        _shares[member].push(uint48(count), uint208(shares));
        BarterTypes.Member storage m = _members[member];
        if (m.nextClaim == 0) m.nextClaim = uint64(count + 1);
        m.sharesSince = uint64(count);
        // Overflow not possible: shares <= total <= type(uint128).max (checked above).
        m.shares = uint128(shares);
        // Overflow not possible: total <= type(uint128).max (checked above).
        _totalShares = uint128(total);
        emit SharesSet(member, shares, total);
    }

    /// @inheritdoc IDataCooperative
    function registerDataset(
        string calldata manifestCid,
        uint256 stepCount,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot,
        bytes32 appraisalHash
    ) external override onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256) {
        return _datasets.register(manifestCid, stepCount, keyCommitments, merkleRoot, appraisalHash);
    }

    /// @inheritdoc IDataCooperative
    function offer(BarterTypes.OfferTerms calldata terms)
        external
        override
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256)
    {
        _token.forceApprove(address(_escrow), terms.bond);
        return _escrow.offer(terms);
    }

    /// @inheritdoc IDataCooperative
    function cancelOffer(uint256 dealId) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _escrow.cancel(dealId);
    }

    /// @inheritdoc IDataCooperative
    function release(uint256 dealId, uint256 step, uint256 rx, uint256 ry, bytes32 c)
        external
        override
        onlyRole(KEY_AGENT_ROLE)
    {
        _escrow.release(dealId, step, rx, ry, c);
    }

    /// @inheritdoc IDataCooperative
    function withdrawToken(address to, uint256 amount) external override onlyRole(DEFAULT_ADMIN_ROLE) {
        _token.safeTransfer(to, amount);
    }

    /// @inheritdoc IDataCooperative
    function claim() external override returns (uint256 distributionId, uint256 amount) {
        // Check: the caller's next distribution is open (every open distribution has total shares > 0).
        BarterTypes.Member memory m = _members[msg.sender];
        distributionId = m.nextClaim;
        BarterTypes.Distribution memory dist = _distributions[distributionId];
        if (distributionId == 0 || dist.totalShares == 0) {
            revert CooperativeNothingToClaim(distributionId, msg.sender);
        }
        amount = _partOf(dist, distributionId, msg.sender, m);
        // A claim pays what is there: nothing can take the cooperative's credits without its consent, and the
        // parts round down, so this only guards the invariant.
        uint256 held = _credits.balanceOf(address(this), dist.seriesId);
        if (amount > held) amount = held;

        // Effect: advance the cursor.
        // Overflow not possible: distributionId <= _distributionCount, far below 2^64 (one per deal).
        _members[msg.sender].nextClaim = uint64(distributionId + 1);
        emit Claimed(distributionId, msg.sender, amount);

        // Interaction: send the credits.
        if (amount != 0) _credits.safeTransferFrom(address(this), msg.sender, dist.seriesId, amount, "");
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata)
        external
        override
        returns (bytes4)
    {
        _open(operator, from, id, value);
        return this.onERC1155Received.selector;
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155BatchReceived(
        address operator,
        address from,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata
    ) external override returns (bytes4) {
        // Bounded by the sender's own batch.
        for (uint256 i; i < ids.length; ++i) {
            _open(operator, from, ids[i], values[i]);
        }
        return this.onERC1155BatchReceived.selector;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                INTERNAL FUNCTIONS
    //////////////////////////////////////////////////////////////////////////*/

    function _existing(uint256 distributionId) private view returns (BarterTypes.Distribution memory dist) {
        dist = _distributions[distributionId];
        if (dist.totalShares == 0) revert CooperativeUnknownDistribution(distributionId);
    }

    /// @dev `member`'s part of distribution `distributionId`: from its slot `m` when its shares were last set
    /// before the distribution opened (the checkpoint lookup would return the same), else from the checkpoints.
    function _partOf(
        BarterTypes.Distribution memory dist,
        uint256 distributionId,
        address member,
        BarterTypes.Member memory m
    ) private view returns (uint256) {
        uint256 shares = distributionId > m.sharesSince
            ? m.shares
            : _shares[member].upperLookupRecent(uint48(distributionId - 1));
        return shares * dist.amount / dist.totalShares;
    }

    /// @dev Opens a distribution of `value` credits of series `id`, minted by the escrow for a deal.
    /// Only such mints are accepted: anyone else could otherwise open dust distributions that every
    /// member's cursor would have to step over.
    function _open(address operator, address from, uint256 id, uint256 value) private {
        // Check: credits of the cooperative's credits contract minted by the escrow, members to share
        // them, 64-bit values.
        if (msg.sender != address(_credits)) revert CooperativeUnknownToken(msg.sender);
        if (operator != address(_escrow) || from != address(0)) revert CooperativeUnexpectedCredits(operator, from);
        uint256 total = _totalShares;
        if (total == 0) revert CooperativeNoShares();
        if (value > type(uint64).max) revert CooperativeAmountTooLarge(value);
        if (id > type(uint64).max) revert CooperativeAmountTooLarge(id);

        // Effect: record it with the total shares of this moment.
        // Overflow not possible: one distribution per received transfer, far below 2^128.
        uint256 distributionId = ++_distributionCount;
        _distributions[distributionId] = BarterTypes.Distribution(uint64(id), uint64(value), uint128(total));
        emit DistributionOpened(distributionId, id, value, total);
    }
}
