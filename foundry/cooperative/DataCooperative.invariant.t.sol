// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";

import {ProtocolFixture} from "../base/ProtocolFixture.sol";
import {CooperativeHandler} from "./CooperativeHandler.sol";

/// @title DataCooperativeInvariants
/// @notice A DataCooperative made by the factory, receiving credits through real barter deals (offer by the
/// cooperative, acceptance by a provider: the escrow mints the deal's data-backed series to it), under random
/// share changes, claims, attempts to push credits in another way and time warps (see {CooperativeHandler}).
contract DataCooperativeInvariants is ProtocolFixture {
    uint256 internal constant MEMBERS = 4;

    CooperativeHandler internal handler;
    IDataCooperative internal coop;
    address[] internal members;

    function setUp() public {
        _deployProtocol();
        address provider = _newProvider("provider", 1_000_000 * WAD);
        address coopAdmin = makeAddr("coopAdmin");
        coop = _newCooperative(coopAdmin, "coop");
        _fund(address(coop), 100_000 * WAD); // bonds of its offers

        bytes32[] memory commitments = new bytes32[](2);
        commitments[0] = keccak256("key 1");
        commitments[1] = keccak256("key 2");
        vm.prank(coopAdmin);
        uint256 datasetId = coop.registerDataset(
            "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", 2, commitments, keccak256("root"), 0
        );

        // The provider's own stake-backed series, for credits it tries to push into the cooperative.
        vm.prank(provider);
        uint256 straySeries = credits.createSeries(H100, uint40(block.timestamp), uint40(block.timestamp + 365 days));

        members = new address[](MEMBERS);
        for (uint256 i; i < MEMBERS; ++i) {
            members[i] = makeAddr(string.concat("member", vm.toString(i)));
        }
        handler = new CooperativeHandler(
            coop, escrow, credits, coopAdmin, provider, datasetId, straySeries, members
        );

        _target(
            address(handler),
            abi.encodePacked(
                CooperativeHandler.setShares.selector,
                CooperativeHandler.receiveCredits.selector,
                CooperativeHandler.claim.selector,
                CooperativeHandler.claimWithNothingDue.selector,
                CooperativeHandler.pushStrayCredits.selector,
                CooperativeHandler.warp.selector
            )
        );
    }

    /// @notice Claimed credits plus the cooperative's balance equal what it received; claims pay exactly the
    /// members' parts, so what stays behind of a distribution is its unclaimed parts plus rounding dust of
    /// less than one credit per member with shares.
    function invariant_cooperative() public view {
        assertEq(coop.totalShares(), handler.ghostTotalShares(), "totalShares differs from the shares set");
        uint256 count = handler.distributionCount();
        assertEq(coop.distributionCount(), count, "distributions opened other than by deals");

        for (uint256 d; d < count; ++d) {
            (
                CooperativeHandler.Distribution memory dist,
                uint256[] memory parts,
                uint256[] memory claimedAmounts,
                bool[] memory claimed
            ) = handler.distributionAt(d);
            uint256 paid;
            uint256 unclaimedParts;
            uint256 partsSum;
            for (uint256 i; i < MEMBERS; ++i) {
                partsSum += parts[i];
                // Members never move their credits here: a member's balance is what it claimed.
                assertEq(
                    credits.balanceOf(members[i], dist.seriesId), claimedAmounts[i], "a member holds other than it claimed"
                );
                if (claimed[i]) paid += claimedAmounts[i];
                else unclaimedParts += parts[i];
            }
            uint256 held = credits.balanceOf(address(coop), dist.seriesId);
            assertEq(held + paid, dist.amount, "claimed + held differs from the credits received");
            assertLe(partsSum, dist.amount, "the parts of a distribution exceed it");
            assertGe(held, unclaimedParts, "the cooperative cannot pay the unclaimed parts");
            // Rounding down loses less than one credit per member with shares.
            assertLt(held - unclaimedParts, dist.holders, "dust exceeds one credit per member with shares");
        }
        assertEq(handler.violations(), 0, handler.firstViolation());
    }
}
