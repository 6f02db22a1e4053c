// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";

/// @title GovernanceHandler
/// @notice Governance and time: pauses and unpauses Jobs, changes the settlement grace (which applies to
/// jobs opened later only) and the oracle's challenge period (0, at times: usage then applies at once), and
/// lets time pass, from seconds to over a week, so that runs cross acknowledgement timeouts, windows,
/// graces, challenge and ruling periods, key timeouts and unbonding.
contract GovernanceHandler is LifecycleHandler {
    uint40 public immutable maxGrace;
    /// @notice The longest jump of time one call in eight makes (past unbonding periods, where they matter).
    uint256 public immutable longWarp;

    constructor(Protocol memory p, LifecycleStore store_, uint40 maxGrace_, uint256 longWarp_)
        LifecycleHandler(p, store_)
    {
        maxGrace = maxGrace_;
        longWarp = longWarp_;
    }

    /// @notice Governance pauses Jobs (one call in four) or unpauses it.
    function pauseJobs(uint256 seed) external {
        (, bytes memory out) = address(jobs).staticcall(abi.encodeWithSignature("paused()"));
        bool paused = abi.decode(out, (bool));
        vm.prank(admin);
        if (paused) jobs.unpause();
        else if (seed % 4 == 0) jobs.pause();
        else revert HandlerNothingToDo("left running");
    }

    /// @notice Governance sets the settlement grace, 0 to `maxGrace` (jobs keep the grace they opened with).
    function setSettlementGrace(uint256 graceSeed) external {
        vm.prank(admin);
        jobs.setSettlementGrace(uint40(bound(graceSeed, 0, maxGrace)));
    }

    /// @notice Governance sets the oracle's challenge period to 0 (usage applies at once), 10 minutes, 30 minutes
    /// or an hour, keeping the bonds; refused above the current settlement grace.
    function setChallengePeriod(uint256 seed) external {
        uint40[4] memory periods = [uint40(0), 10 minutes, 30 minutes, 1 hours];
        (, bytes memory out) = address(oracle).staticcall(abi.encodeWithSignature("bonds()"));
        (uint256 challengeBond, uint256 signerBond, uint256 slashAmount) = abi.decode(out, (uint256, uint256, uint256));
        vm.prank(admin);
        oracle.setChallengeParams(periods[seed % 4], challengeBond, signerBond, slashAmount);
    }

    /// @notice Time passes: up to 10 minutes, an hour, a day, or (one call in eight) `longWarp`.
    function warp(uint256 seed) external {
        uint256 range = _sub(seed, 0) % 8;
        uint256 most = range < 3 ? 10 minutes : range < 5 ? 1 hours : range < 7 ? 1 days : longWarp;
        vm.warp(block.timestamp + bound(seed, 1, most));
    }
}

/// @title IssuerHandler
/// @notice The series issuer (the escrow's role, held by an actor in the suites without barters): freezes a
/// series, as a cooperative's fault does, or unfreezes it.
contract IssuerHandler is LifecycleHandler {
    address public immutable issuer;

    constructor(Protocol memory p, LifecycleStore store_, address issuer_) LifecycleHandler(p, store_) {
        issuer = issuer_;
    }

    /// @notice The series issuer freezes a series (its cooperative faulted) or, one call in four, unfreezes it.
    function setFrozen(uint256 seriesSeed, uint256 modeSeed) external {
        uint256 seriesId = _series(seriesSeed);
        vm.prank(issuer);
        credits.setFrozen(seriesId, modeSeed % 4 != 0);
    }
}
