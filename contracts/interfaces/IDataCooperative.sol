// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";

import {BarterTypes} from "../types/BarterTypes.sol";

/// @title IDataCooperative
/// @notice A data cooperative: its admins set members' shares (e.g. from each member's contributed
/// data), register datasets the cooperative owns, make barter offers in its name and release keys
/// through key agents. Credits it receives are shared among the members pro rata.
///
/// Accounting: every mint of credits to the cooperative by the barter escrow opens a *distribution*
/// (series, amount, total shares at that moment). A member's part of distribution `n` is
/// `sharesAt(member, n) * amount / totalShares`, rounded down, where `sharesAt` is the member's
/// shares when the credits arrived (a checkpoint lookup, O(log) in the member's own share changes).
/// Claims are pulled one distribution at a time, in order: each member has a cursor, the next
/// distribution it claims, set when its shares are first set (so it starts at the first
/// distribution after joining) and advanced by every claim; a distribution in which the member has
/// no part is stepped over with a zero claim. A claim's gas does not depend on the number of
/// members or series: the cursor and the member's latest shares live in one slot written by
/// {setShares} (the admin pays its cold write), and a claim reads the share checkpoints only for a
/// distribution opened before the member's last share change. Joining, leaving (shares set to 0)
/// and share changes apply to later distributions only and never change what anyone already earned.
/// The parts of one distribution never sum to more than its amount.
interface IDataCooperative is IAccessControl, IERC1155Receiver {
    /// @notice Emitted when `member`'s shares were set to `shares` (total now `totalShares`).
    event SharesSet(address indexed member, uint256 shares, uint256 totalShares);
    /// @notice Emitted when credits of series `seriesId` arrived and opened distribution `distributionId`.
    event DistributionOpened(uint256 indexed distributionId, uint256 indexed seriesId, uint256 amount, uint256 totalShares);
    /// @notice Emitted when `member` claimed `amount` credits of distribution `distributionId`.
    event Claimed(uint256 indexed distributionId, address indexed member, uint256 amount);

    /// @notice A zero address at construction or as a member.
    error CooperativeZeroAddress();
    /// @notice Shares (`shares`) above the 128-bit total the accounting supports.
    error CooperativeSharesTooLarge(uint256 shares);
    /// @notice Credits arrived from `token`, which is not the cooperative's credits contract.
    error CooperativeUnknownToken(address token);
    /// @notice Credits arrived that the escrow did not mint for a deal (`operator` moved them from `from`).
    error CooperativeUnexpectedCredits(address operator, address from);
    /// @notice Credits arrived while no member holds shares; they could not be shared.
    error CooperativeNoShares();
    /// @notice An amount of credits above 64 bits.
    error CooperativeAmountTooLarge(uint256 amount);
    /// @notice No distribution has id `distributionId`.
    error CooperativeUnknownDistribution(uint256 distributionId);
    /// @notice `member` has nothing left to claim: its next distribution, `distributionId`, is not open yet
    /// (0 when `member` never had shares).
    error CooperativeNothingToClaim(uint256 distributionId, address member);

    /// @notice The role of the agents that release sealed keys for the cooperative's deals.
    function KEY_AGENT_ROLE() external view returns (bytes32);
    /// @notice `member`'s current shares.
    function sharesOf(address member) external view returns (uint256);
    /// @notice The sum of all members' current shares.
    function totalShares() external view returns (uint256);
    /// @notice The number of distributions; ids run from 1 to this number.
    function distributionCount() external view returns (uint256);
    /// @notice Distribution `distributionId`. Reverts with {CooperativeUnknownDistribution} for an unknown id.
    function distributionOf(uint256 distributionId) external view returns (BarterTypes.Distribution memory);
    /// @notice `member`'s part of distribution `distributionId`, 0 once claimed.
    function claimable(uint256 distributionId, address member) external view returns (uint256);
    /// @notice Whether `member` claimed (or stepped over) distribution `distributionId`.
    function claimed(uint256 distributionId, address member) external view returns (bool);
    /// @notice The next distribution `member` claims (0 when it never had shares).
    function nextClaimOf(address member) external view returns (uint256);

    /// @notice Sets `member`'s shares (0: the member leaves). Affects later distributions only.
    /// @dev Emits {SharesSet}. Requirements: the caller has `DEFAULT_ADMIN_ROLE`; `member` is not zero;
    /// the total stays within 128 bits.
    function setShares(address member, uint256 shares) external;

    /// @notice Registers a dataset owned by the cooperative (see {IDatasetRegistry-register}).
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`; the registry's requirements.
    function registerDataset(
        string calldata manifestCid,
        uint256 stepCount,
        bytes32[] calldata keyCommitments,
        bytes32 merkleRoot,
        bytes32 appraisalHash
    ) external returns (uint256 datasetId);

    /// @notice Offers a cooperative dataset through the escrow, paying the bond from the cooperative's CPT.
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`; the escrow's requirements for {IBarterEscrow-offer}.
    function offer(BarterTypes.OfferTerms calldata terms) external returns (uint256 dealId);

    /// @notice Cancels the cooperative's offer `dealId` (the bond returns to the cooperative).
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`.
    function cancelOffer(uint256 dealId) external;

    /// @notice Releases a sealed key of a cooperative deal (see {IBarterEscrow-release}).
    /// @dev Requirements: the caller has `KEY_AGENT_ROLE`; the escrow's requirements.
    function release(uint256 dealId, uint256 step, uint256 rx, uint256 ry, bytes32 c) external;

    /// @notice Sends `amount` CPT wei of the cooperative to `to` (returned bonds, dispute winnings).
    /// @dev Requirements: the caller has `DEFAULT_ADMIN_ROLE`.
    function withdrawToken(address to, uint256 amount) external;

    /// @notice Transfers the caller's part of its next distribution to the caller (nothing when that part is
    /// zero) and advances its cursor.
    /// @dev Emits {Claimed}. Requirements: the caller's next distribution is open.
    /// @return distributionId The distribution claimed.
    /// @return amount The credits sent.
    function claim() external returns (uint256 distributionId, uint256 amount);
}
