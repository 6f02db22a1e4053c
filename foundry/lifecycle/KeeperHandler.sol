// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";

/// @title KeeperHandler
/// @notice Anyone's permissionless duty on credits: releasing a series' collateral beyond what its credits need.
contract KeeperHandler is LifecycleHandler {
    address public immutable keeper;

    constructor(Protocol memory p, LifecycleStore store_, address keeper_) LifecycleHandler(p, store_) {
        keeper = keeper_;
    }

    /// @notice A series' collateral beyond what its credits need returns to its provider: afterwards it holds
    /// exactly `outstanding * perCredit` before its end, `custody * perCredit` after.
    function releaseCollateral(uint256 seriesSeed) external {
        uint256 n = store.seriesCount();
        if (n == 0) revert HandlerNothingToDo("no series yet");
        for (uint256 i; i < n; ++i) {
            uint256 seriesId = store.seriesIds((seriesSeed + i) % n);
            ComputeTypes.Series memory s = credits.seriesOf(seriesId);
            uint256 needed = _needed(seriesId, s);
            if (s.collateral <= needed && seriesSeed % 8 != 0) continue;
            uint256 locked = registry.providerOf(s.provider).locked;

            vm.prank(keeper);
            credits.releaseCollateral(seriesId);

            _check(s.collateral > needed, "releaseCollateral released what the credits need");
            _check(credits.seriesOf(seriesId).collateral == needed, "releaseCollateral kept other than what is needed");
            _check(
                registry.providerOf(s.provider).locked + s.collateral == locked + needed,
                "releaseCollateral unlocked other than the excess"
            );
            return;
        }
        revert HandlerNothingToDo("no series holds excess collateral");
    }

    function _needed(uint256 seriesId, ComputeTypes.Series memory s) private view returns (uint256) {
        uint256 outstanding = block.timestamp < s.end ? s.minted - s.burned : credits.balanceOf(address(jobs), seriesId);
        return outstanding * credits.collateralPerCredit(seriesId);
    }
}

/// @title DealKeeperHandler
/// @notice Anyone's permissionless duties in barters: marking a step due, claiming a key timeout for the
/// provider, and settling a deal (with `wait`, time passes until each may).
///
/// Ghosts: the delivered total of every deal when it settled, which must never change after (H-3: no step may
/// become due once the cooperative's bond is gone).
contract DealKeeperHandler is LifecycleHandler {
    mapping(uint256 dealId => uint256) public deliveredAtSettle;
    mapping(uint256 dealId => bool) public settled;

    address public immutable keeper;

    constructor(Protocol memory p, LifecycleStore store_, address keeper_) LifecycleHandler(p, store_) {
        keeper = keeper_;
    }

    /// @notice For deals 1 to `count`: whether each settled, and its delivered total then.
    function settlements(uint256 count) external view returns (bool[] memory done, uint256[] memory delivered) {
        done = new bool[](count);
        delivered = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            (done[i], delivered[i]) = (settled[i + 1], deliveredAtSettle[i + 1]);
        }
    }

    /// @notice Anyone marks the next step of an accepted deal due once its GPU time was delivered.
    function markDue(uint256 dealSeed) external {
        uint256 dealId = _dealWhere(dealSeed, DUE_UNMARKED);
        vm.prank(keeper);
        escrow.markDue(dealId);
    }

    /// @notice Past the key timeout of a step marked due, the provider takes the cooperative's bond and the
    /// series freezes. With `wait`, time passes to the timeout; when nothing is marked yet but a step is due,
    /// the keeper marks it first and the cooperative stays silent for the whole timeout.
    function claimKeyTimeout(uint256 dealSeed, bool wait) external {
        uint256 dealId = _dealWhere(dealSeed, MARKED);
        BarterTypes.Deal memory d = escrow.dealOf(dealId);
        if (wait && d.dueSince == 0 && escrow.dueSteps(dealId) > d.released) {
            vm.prank(keeper);
            escrow.markDue(dealId);
            d.dueSince = uint40(block.timestamp);
        }
        if (wait && d.dueSince != 0) _warpTo(uint256(d.dueSince) + d.keyTimeout + 1);
        uint256 providerCpt = token.balanceOf(d.provider);

        vm.prank(keeper);
        escrow.claimKeyTimeout(dealId);

        _check(
            token.balanceOf(d.provider) == providerCpt + d.bond, "claimKeyTimeout: the provider did not get the bond"
        );
        _check(credits.isFrozen(d.seriesId), "claimKeyTimeout: the series is not frozen");
    }

    /// @notice Once its delivered total is final and every due key released, an accepted deal settles: the
    /// bond returns to the cooperative. With `wait`, time passes to its settlement time (up to two days ahead).
    function settle(uint256 dealSeed, bool wait) external {
        uint256 dealId = _dealIn(dealSeed, BarterTypes.DealStatus.Accepted);
        BarterTypes.Deal memory d = escrow.dealOf(dealId);
        if (wait) _warpWithin(escrow.settlesAt(dealId), 2 days);
        uint256 makerCpt = token.balanceOf(d.maker);

        vm.prank(keeper);
        escrow.settle(dealId);

        settled[dealId] = true;
        deliveredAtSettle[dealId] = credits.deliveredOf(d.seriesId);
        _check(token.balanceOf(d.maker) == makerCpt + d.bond, "settle: the cooperative did not get its bond back");
        _check(escrow.dueSteps(dealId) <= d.released, "settle: a due key was never released");
    }

    uint8 private constant DUE_UNMARKED = 1;
    uint8 private constant MARKED = 2;

    /// @dev An accepted deal whose next step is due and unmarked (`DUE_UNMARKED`) or marked or due (`MARKED`), searched
    /// from `seed`; one pick in eight, or when there is none, any accepted deal.
    function _dealWhere(uint256 seed, uint8 what) private view returns (uint256) {
        uint256 n = store.dealCount();
        if (seed % 8 != 0) {
            for (uint256 i; i < n; ++i) {
                uint256 dealId = store.dealIds((seed + i) % n);
                BarterTypes.Deal memory d = escrow.dealOf(dealId);
                if (d.status != BarterTypes.DealStatus.Accepted) continue;
                bool due = escrow.dueSteps(dealId) > d.released;
                if (what == MARKED ? d.dueSince != 0 || due : d.dueSince == 0 && due) {
                    return dealId;
                }
            }
        }
        return _dealIn(seed, BarterTypes.DealStatus.Accepted);
    }
}
