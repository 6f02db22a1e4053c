// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";
import {SealedKeys} from "./SealedKeys.sol";

/// @title CooperativeHandler
/// @notice The data cooperatives: their admins set members' shares, register datasets (key commitments made
/// from keys the handler derives), offer them through the escrow with a bond, cancel offers and release the
/// key of each due step sealed to the provider's per-deal key (one release in eight is a wrong key, which the
/// provider then wins a dispute on); their members claim their parts of the credits the cooperative received.
///
/// Ghosts: each cooperative's datasets and their key seeds, the bond of every deal, and what each member
/// claimed of each distribution.
contract CooperativeHandler is LifecycleHandler {
    uint256 public constant MAX_DATASETS = 6;
    uint256 public constant MAX_DEALS = 8;

    IDataCooperative[] public cooperatives;
    mapping(IDataCooperative => address) public adminOf;
    mapping(uint256 datasetId => uint256) public keySeedOf;
    mapping(uint256 datasetId => IDataCooperative) public ownerOf;
    uint256[] public datasetIds;
    uint256 private _nonce;

    mapping(uint256 dealId => uint256) public ghostBond;
    mapping(IDataCooperative => mapping(uint256 distributionId => uint256)) public ghostClaimedSum;
    mapping(IDataCooperative => mapping(uint256 distributionId => mapping(address member => uint256))) public
        ghostClaimed;
    /// @notice Wrong keys released (each lets the provider win a dispute).
    uint256 public wrongReleases;

    constructor(Protocol memory p, LifecycleStore store_, IDataCooperative[] memory coops, address[] memory admins)
        LifecycleHandler(p, store_)
    {
        for (uint256 i; i < coops.length; ++i) {
            cooperatives.push(coops[i]);
            adminOf[coops[i]] = admins[i];
        }
    }

    function cooperativeCount() external view returns (uint256) {
        return cooperatives.length;
    }

    /// @notice The ghost bonds of deals 1 to `count`.
    function ghostBonds(uint256 count) external view returns (uint256[] memory bonds) {
        bonds = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            bonds[i] = ghostBond[i + 1];
        }
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   COOPERATIVE ADMIN
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice A cooperative's admin sets a member's shares: 1 to 100, or 0 (the member leaves) one time in eight.
    function setShares(uint256 coopSeed, uint256 memberSeed, uint256 sharesSeed) external {
        IDataCooperative coop = _coop(coopSeed);
        address member = _holder(memberSeed);
        uint256 shares = sharesSeed % 8 == 0 ? 0 : bound(sharesSeed >> 3, 1, 100);
        vm.prank(adminOf[coop]);
        coop.setShares(member, shares);
    }

    /// @notice A cooperative registers a dataset of 1 to 4 steps through itself.
    function registerDataset(uint256 coopSeed, uint256 stepsSeed) external {
        if (datasetIds.length >= MAX_DATASETS) revert HandlerNothingToDo("dataset cap reached");
        IDataCooperative coop = _coop(coopSeed);
        uint256 steps = bound(stepsSeed, 1, 4);
        uint256 keySeed = ++_nonce;
        bytes32[] memory commitments = new bytes32[](steps);
        for (uint256 i; i < steps; ++i) {
            commitments[i] = SealedKeys.commitment(SealedKeys.key(keySeed, i + 1));
        }
        vm.prank(adminOf[coop]);
        uint256 datasetId = coop.registerDataset(
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
            steps,
            commitments,
            keccak256(abi.encode("merkle root", keySeed)),
            bytes32(0)
        );
        keySeedOf[datasetId] = keySeed;
        ownerOf[datasetId] = coop;
        datasetIds.push(datasetId);
    }

    /// @notice A cooperative offers one of its datasets for K to 4,000 GPU-seconds of a class, in a window that
    /// started up to a day ago or starts within a day and lasts an hour to two days, with a key timeout of one
    /// to six hours and a bond of 10 to 40 CPT (from its own CPT).
    function offer(uint256 datasetSeed, uint256 classSeed, uint256 secondsSeed, uint256 windowSeed, uint256 bondSeed)
        external
    {
        if (store.dealCount() >= MAX_DEALS) revert HandlerNothingToDo("deal cap reached");
        uint256 datasetId = datasetIds[_index(datasetSeed, datasetIds.length, "no dataset yet")];
        IDataCooperative coop = ownerOf[datasetId];
        BarterTypes.OfferTerms memory t;
        t.datasetId = datasetId;
        t.classId = uint16(bound(classSeed, 1, 3));
        t.steps = uint16(datasets.stepCount(datasetId));
        t.gpuSeconds = uint64(bound(secondsSeed, t.steps, 4_000));
        t.start = uint40(block.timestamp - 1 days + bound(windowSeed, 0, 2 days));
        t.end = uint40(t.start + bound(_sub(windowSeed, 1), 1 hours, 2 days));
        if (t.end <= block.timestamp) t.end = uint40(block.timestamp + 1 hours);
        t.keyTimeout = uint32(bound(_sub(windowSeed, 2), 1 hours, 6 hours));
        t.bond = uint128(bound(bondSeed, 10e18, 40e18));
        uint256 escrowCpt = token.balanceOf(address(escrow));

        vm.prank(adminOf[coop]);
        uint256 dealId = coop.offer(t);

        store.addDeal(dealId);
        ghostBond[dealId] = t.bond;
        _check(token.balanceOf(address(escrow)) == escrowCpt + t.bond, "offer: the escrow did not take the bond");
    }

    /// @notice A cooperative withdraws an offer not yet accepted; its bond returns.
    function cancelOffer(uint256 dealSeed) external {
        uint256 dealId = _dealIn(dealSeed, BarterTypes.DealStatus.Offered);
        IDataCooperative coop = IDataCooperative(escrow.dealOf(dealId).maker);
        uint256 coopCpt = token.balanceOf(address(coop));
        vm.prank(adminOf[coop]);
        coop.cancelOffer(dealId);
        _check(token.balanceOf(address(coop)) == coopCpt + ghostBond[dealId], "cancel: the bond did not return");
    }

    /// @notice The cooperative's key agent releases the key of the next due step of a deal, sealed to the
    /// provider's public key (a wrong key one time in eight). A due key of an accepted deal can always be
    /// released. Even deals have a negligent cooperative, which releases one time in four only (so that key
    /// timeouts happen).
    function release(uint256 dealSeed, uint256 honestSeed, uint256 rSeed) external {
        (uint256 dealId, bool due) = _releasable(dealSeed);
        if (dealId % 2 == 0 && honestSeed % 4 != 0) revert HandlerNothingToDo("the cooperative is silent");
        BarterTypes.Deal memory d = escrow.dealOf(dealId);
        uint256 step = uint256(d.released) + 1;
        bool honest = honestSeed % 8 != 0;
        bytes32 key = honest ? SealedKeys.key(keySeedOf[d.datasetId], step) : keccak256(abi.encode("wrong", rSeed));
        (uint256 px, uint256 py) = store.publicKeyOf(dealId);
        LifecycleStore.Release memory r;
        (r.rx, r.ry, r.c) = SealedKeys.seal(key, px, py, step, SealedKeys.scalar(rSeed));
        r.honest = honest;
        IDataCooperative coop = IDataCooperative(d.maker);

        vm.prank(adminOf[coop]);
        try coop.release(dealId, step, r.rx, r.ry, r.c) {
            _check(due, "release: a key was released for a step not delivered");
            store.setRelease(dealId, step, r);
            if (!honest) ++wrongReleases;
        } catch (bytes memory err) {
            if (due) {
                _check(false, _because("release refused for a due step", err));
                return;
            }
            revert HandlerNothingToDo("not due, as it must be");
        }
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       MEMBERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice A member claims its part of its next distribution: exactly `shares * amount / totalShares` of
    /// the shares it held when the credits arrived.
    function memberClaim(uint256 coopSeed, uint256 memberSeed) external {
        (IDataCooperative coop, address member, uint256 distributionId) = _claimant(coopSeed, memberSeed);
        uint256 part = coop.claimable(distributionId, member);
        uint256 seriesId = coop.distributionOf(distributionId).seriesId;
        uint256 held = credits.balanceOf(member, seriesId);

        vm.prank(member);
        (uint256 claimedId, uint256 amount) = coop.claim();

        _check(claimedId == distributionId && amount == part, "member claim: paid other than its part");
        _check(credits.balanceOf(member, seriesId) == held + amount, "member claim: credits not received");
        store.debit(address(coop), seriesId, amount);
        store.credit(member, seriesId, amount);
        ghostClaimed[coop][distributionId][member] = amount;
        ghostClaimedSum[coop][distributionId] += amount;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       HELPERS
    //////////////////////////////////////////////////////////////////////////*/

    function _coop(uint256 seed) private view returns (IDataCooperative) {
        return cooperatives[seed % cooperatives.length];
    }

    /// @dev An accepted deal with a key left, preferring one whose next step is due.
    function _releasable(uint256 seed) private view returns (uint256 dealId, bool due) {
        uint256 n = store.dealCount();
        bool found;
        for (uint256 i; i < n; ++i) {
            uint256 id = store.dealIds((seed + i) % n);
            BarterTypes.Deal memory d = escrow.dealOf(id);
            if (d.status != BarterTypes.DealStatus.Accepted || d.released >= d.steps) continue;
            bool isDue = escrow.dueSteps(id) > d.released;
            if (isDue || seed % 8 == 0) return (id, isDue);
            if (!found) (dealId, found) = (id, true);
        }
        if (!found) revert HandlerNothingToDo("no deal with a key left");
    }

    /// @dev A member with an open next distribution in some cooperative, searched from the seeds.
    function _claimant(uint256 coopSeed, uint256 memberSeed)
        private
        view
        returns (IDataCooperative coop, address member, uint256 distributionId)
    {
        uint256 members = store.holderCount();
        for (uint256 c; c < cooperatives.length; ++c) {
            coop = cooperatives[(coopSeed + c) % cooperatives.length];
            uint256 count = coop.distributionCount();
            for (uint256 m; m < members; ++m) {
                member = store.holders((memberSeed + m) % members);
                distributionId = coop.nextClaimOf(member);
                if (distributionId != 0 && distributionId <= count) return (coop, member, distributionId);
            }
        }
        revert HandlerNothingToDo("no member has a distribution to claim");
    }
}
