// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBarterEscrow} from "contracts/interfaces/IBarterEscrow.sol";
import {IComputeCredits} from "contracts/interfaces/IComputeCredits.sol";
import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";

import {HandlerBase} from "../base/HandlerBase.sol";

/// @title CooperativeHandler
/// @notice The life of a data cooperative's credits: its admin sets members' shares (joins, changes,
/// leaves); credits arrive the only way they can, minted by the barter escrow when a provider accepts one
/// of the cooperative's offers; members claim their parts one distribution at a time; a provider tries to
/// push credits into the cooperative another way (refused, or anyone could open dust distributions);
/// time passes.
///
/// Ghosts: every member's shares, total shares and claim cursor, every distribution with the shares it saw,
/// and what each member claimed of it. A member's part is computed here from the specification
/// (`sharesAt * amount / totalShares`, rounded down) and compared with what the claim paid.
contract CooperativeHandler is HandlerBase {
    /// @notice A distribution as the ghosts saw it open.
    struct Distribution {
        uint256 seriesId;
        uint256 amount;
        uint256 totalShares;
        uint256 holders; // members with shares when it opened
    }

    uint256 public constant MAX_DISTRIBUTIONS = 12;
    uint16 public constant STEPS = 2;

    IDataCooperative public immutable coop;
    IBarterEscrow public immutable escrow;
    IComputeCredits public immutable credits;
    address public immutable coopAdmin;
    address public immutable provider;
    uint256 public immutable datasetId;
    /// @dev A stake-backed series of `provider`, for the credits it tries to push into the cooperative.
    uint256 public immutable straySeries;

    address[] public members;

    mapping(address member => uint256) public ghostShares;
    uint256 public ghostTotalShares;
    mapping(address member => uint256) public ghostNextClaim;
    Distribution[] private _distributions;
    /// @dev Shares of each member a distribution saw, by distribution index (id - 1).
    mapping(uint256 index => mapping(address member => uint256)) private _sharesAt;
    mapping(uint256 index => mapping(address member => bool)) public ghostClaimed;
    mapping(uint256 index => mapping(address member => uint256)) public ghostClaimedAmount;

    constructor(
        IDataCooperative coop_,
        IBarterEscrow escrow_,
        IComputeCredits credits_,
        address coopAdmin_,
        address provider_,
        uint256 datasetId_,
        uint256 straySeries_,
        address[] memory members_
    ) {
        coop = coop_;
        escrow = escrow_;
        credits = credits_;
        coopAdmin = coopAdmin_;
        provider = provider_;
        datasetId = datasetId_;
        straySeries = straySeries_;
        members = members_;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   VIEWS FOR THE SUITE
    //////////////////////////////////////////////////////////////////////////*/

    function memberCount() external view returns (uint256) {
        return members.length;
    }

    function distributionCount() external view returns (uint256) {
        return _distributions.length;
    }

    /// @notice Distribution `index + 1` with every member's part and claim, in one call (the invariant runs
    /// after every call).
    function distributionAt(uint256 index)
        external
        view
        returns (Distribution memory dist, uint256[] memory parts, uint256[] memory claimedAmounts, bool[] memory claimed)
    {
        dist = _distributions[index];
        uint256 n = members.length;
        (parts, claimedAmounts, claimed) = (new uint256[](n), new uint256[](n), new bool[](n));
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            parts[i] = partOf(index, member);
            claimedAmounts[i] = ghostClaimedAmount[index][member];
            claimed[i] = ghostClaimed[index][member];
        }
    }

    /// @notice `member`'s part of distribution `index + 1` by the specification.
    function partOf(uint256 index, address member) public view returns (uint256) {
        Distribution storage d = _distributions[index];
        return _sharesAt[index][member] * d.amount / d.totalShares;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       ACTIONS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The admin sets a member's shares: 0 (it leaves) one call in five, else 1 to 1,000.
    function setShares(uint256 memberSeed, uint256 sharesSeed) external {
        address member = _pick(members, memberSeed);
        uint256 shares = sharesSeed % 5 == 0 ? 0 : bound(sharesSeed, 1, 1_000);
        vm.prank(coopAdmin);
        coop.setShares(member, shares);

        ghostTotalShares = ghostTotalShares - ghostShares[member] + shares;
        ghostShares[member] = shares;
        // A member's cursor starts at the first distribution after its shares were first set.
        if (ghostNextClaim[member] == 0) ghostNextClaim[member] = _distributions.length + 1;
    }

    /// @notice The cooperative offers its dataset for GPU time and the provider accepts: the escrow mints the
    /// deal's credits to the cooperative, which opens a distribution (refused while no member has shares).
    function receiveCredits(uint256 amountSeed, uint256 lengthSeed, uint256 classSeed) external {
        if (_distributions.length >= MAX_DISTRIBUTIONS) revert HandlerNothingToDo("distribution cap reached");
        BarterTypes.OfferTerms memory terms = BarterTypes.OfferTerms({
            datasetId: datasetId,
            classId: uint16(bound(classSeed, 1, 3)),
            gpuSeconds: uint64(bound(amountSeed, STEPS, 100_000)),
            start: uint40(block.timestamp),
            end: uint40(block.timestamp + bound(lengthSeed, 1 hours, 10 days)),
            steps: STEPS,
            keyTimeout: 1 days,
            bond: uint128(escrow.minBond())
        });
        vm.prank(coopAdmin);
        uint256 dealId = coop.offer(terms);
        // Any point of alt_bn128 serves as the provider's key here: the generator (1, 2).
        vm.prank(provider);
        uint256 seriesId = escrow.accept(dealId, 1, 2);

        uint256 index = _distributions.length;
        uint256 holders;
        for (uint256 i; i < members.length; ++i) {
            uint256 shares = ghostShares[members[i]];
            _sharesAt[index][members[i]] = shares;
            if (shares != 0) ++holders;
        }
        _distributions.push(Distribution(seriesId, terms.gpuSeconds, ghostTotalShares, holders));

        BarterTypes.Distribution memory opened = coop.distributionOf(index + 1);
        _check(
            opened.seriesId == seriesId && opened.amount == terms.gpuSeconds && opened.totalShares == ghostTotalShares,
            "receiveCredits: the distribution opened is not the credits received"
        );
        _check(credits.balanceOf(address(coop), seriesId) == terms.gpuSeconds, "receiveCredits: credits not held");
    }

    /// @notice A member with a distribution to claim claims its next one (mostly; one call in eight, any member).
    function claim(uint256 memberSeed) external {
        address member = memberSeed % 8 == 0 ? _pick(members, memberSeed) : _claimant(memberSeed);
        uint256 expectedId = ghostNextClaim[member];
        if (expectedId == 0 || expectedId > _distributions.length) revert HandlerNothingToDo("nothing to claim");
        uint256 index = expectedId - 1;
        uint256 balanceBefore = credits.balanceOf(member, _distributions[index].seriesId);
        _check(coop.claimable(expectedId, member) == partOf(index, member), "claimable differs from the member's part");

        vm.prank(member);
        (uint256 distributionId, uint256 amount) = coop.claim();

        _check(distributionId == expectedId, "claim: not the member's next distribution");
        _check(amount == partOf(index, member), "claim: the amount is not the member's part");
        _check(
            credits.balanceOf(member, _distributions[index].seriesId) == balanceBefore + amount,
            "claim: the member did not receive the amount"
        );
        ghostClaimed[index][member] = true;
        ghostClaimedAmount[index][member] = amount;
        ghostNextClaim[member] = expectedId + 1;
    }

    /// @notice Someone with nothing to claim (a stranger, or a member whose cursor is past the last
    /// distribution) claims: a success when it is refused.
    function claimWithNothingDue(uint256 memberSeed, bool stranger) external {
        address claimant = stranger ? address(uint160(bound(memberSeed, 1, type(uint64).max))) : _caughtUp(memberSeed);
        uint256 next = ghostNextClaim[claimant];
        if (next != 0 && next <= _distributions.length) revert HandlerNothingToDo("the claimant has a part due");
        vm.prank(claimant);
        try coop.claim() returns (uint256, uint256) {
            _check(false, "claim succeeded with nothing due");
        } catch {}
    }

    /// @notice The provider tries to put credits into the cooperative other than through the escrow: minting
    /// to it, or transferring credits it minted to itself. A success when the cooperative refuses them.
    function pushStrayCredits(uint256 amountSeed, bool transfer) external {
        uint256 amount = bound(amountSeed, 1, 1_000);
        uint256 before = coop.distributionCount();
        vm.startPrank(provider);
        if (transfer) {
            credits.mint(straySeries, provider, amount, "");
            try credits.safeTransferFrom(provider, address(coop), straySeries, amount, "") {
                _check(false, "the cooperative accepted credits transferred to it");
            } catch {}
        } else {
            try credits.mint(straySeries, address(coop), amount, "") {
                _check(false, "the cooperative accepted credits minted to it outside a deal");
            } catch {}
        }
        vm.stopPrank();
        _check(coop.distributionCount() == before, "stray credits opened a distribution");
    }

    /// @notice Time passes: a minute to a day.
    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1 minutes, 1 days));
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       HELPERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev A member with a distribution to claim, searched from `seed`; else any member.
    function _claimant(uint256 seed) private view returns (address) {
        for (uint256 i; i < members.length; ++i) {
            address m = members[(seed % members.length + i) % members.length];
            uint256 next = ghostNextClaim[m];
            if (next != 0 && next <= _distributions.length) return m;
        }
        return _pick(members, seed);
    }

    /// @dev A member with nothing to claim, searched from `seed`; else any member.
    function _caughtUp(uint256 seed) private view returns (address) {
        for (uint256 i; i < members.length; ++i) {
            address m = members[(seed % members.length + i) % members.length];
            uint256 next = ghostNextClaim[m];
            if (next == 0 || next > _distributions.length) return m;
        }
        return _pick(members, seed);
    }
}
