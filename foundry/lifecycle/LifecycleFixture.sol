// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";

import {HandlerBase} from "../base/HandlerBase.sol";
import {ProtocolFixture} from "../base/ProtocolFixture.sol";
import {CooperativeHandler} from "./CooperativeHandler.sol";
import {GovernanceHandler, IssuerHandler} from "./GovernanceHandler.sol";
import {CreditHandler, HolderHandler} from "./HolderHandler.sol";
import {DealKeeperHandler, KeeperHandler} from "./KeeperHandler.sol";
import {Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";
import {MeteringHandler} from "./MeteringHandler.sol";
import {DealProviderHandler, ProviderHandler, StakeHandler} from "./ProviderHandler.sol";

/// @title LifecycleFixture
/// @notice The protocol (as {ProtocolFixture} deploys it) with the actors of the cross-contract lifecycles and
/// one handler per actor, and the invariants the lifecycle suites share:
/// - every outstanding credit is redeemable or compensable: each series locks `perCredit` for every credit
///   outstanding while its window is open and for every credit in a job after it; a provider's locked stake is
///   exactly its series' collateral and never above its stake; the registry holds every stake and unbonding;
/// - nobody's credits move or burn without their consent: every tracked balance equals its ghost, Jobs holds
///   exactly the unused credits of its running jobs, and nobody else holds any;
/// - metering: every accepted GPU-second is applied, unbilled beyond the job's credits, voided, skipped for a
///   reason that never changes, pending or held; what was billed is each job's `usedSeconds`, and a series'
///   delivered total is the sum over its jobs; holds and bonds are as the challenges say;
/// - barter: released <= due always, released + 1 >= due for an accepted deal (or a key's clock runs), a
///   settled deal's delivered total never moves, the escrow holds exactly the live deals' bonds;
/// - cooperative: members' claims plus the cooperative's balance are what it received, and what the parts
///   leave undistributed is less than the member count.
abstract contract LifecycleFixture is ProtocolFixture {
    uint256 internal constant PROVIDER_CPT = 10_000 * WAD;
    uint256 internal constant HOLDER_CPT = 1_000 * WAD;
    uint256 internal constant SIGNER_CPT = 1_000 * WAD;
    uint256 internal constant CHALLENGE_BOND = 1 * WAD;
    uint256 internal constant SIGNER_BOND = 5 * WAD;
    uint256 internal constant SLASH_AMOUNT = 2 * WAD;

    struct Config {
        uint256 providers; // in the pool
        uint256 registered; // of them registered and staked in setUp
        uint256 stake; // each registered provider's stake
        uint256 holders;
        uint40 grace; // Jobs' settlement grace at the start
        uint40 maxGrace; // the most governance sets
        uint40 challengePeriod;
        uint256 cooperatives; // 0 outside the barter suite
        bool issuer; // a series issuer (IssuerHandler) that freezes series directly
        uint256 longWarp; // the longest time jump of {GovernanceHandler-warp}
        uint256 maxWait; // the longest a handler waits for its action (see {LifecycleStore-maxWait})
        uint32 ackTimeout; // every class's acknowledgement timeout (the plan's is 1 hour)
    }

    LifecycleStore internal store;
    StakeHandler internal stakeHandler;
    ProviderHandler internal providerHandler;
    DealProviderHandler internal dealProviderHandler;
    HolderHandler internal holderHandler;
    CreditHandler internal creditHandler;
    MeteringHandler internal meteringHandler;
    GovernanceHandler internal governanceHandler;
    IssuerHandler internal issuerHandler;
    KeeperHandler internal keeperHandler;
    DealKeeperHandler internal dealKeeperHandler;
    CooperativeHandler internal cooperativeHandler;
    HandlerBase[] internal handlers;

    address internal keeper = makeAddr("keeper");
    uint256[] internal signerKeys;
    address[] internal signers;

    /*//////////////////////////////////////////////////////////////////////////
                                        SET-UP
    //////////////////////////////////////////////////////////////////////////*/

    function _setUpLifecycle(Config memory cfg) internal {
        _deployProtocol();
        store = new LifecycleStore();
        store.setMaxWait(cfg.maxWait);
        if (cfg.ackTimeout != 3_600) {
            vm.startPrank(admin);
            _setClasses(cfg.ackTimeout);
            vm.stopPrank();
        }
        _setUpProviders(cfg);
        _setUpHolders(cfg.holders);
        _setUpOracle(cfg.grace, cfg.challengePeriod);
        Protocol memory p = Protocol(admin, token, registry, credits, jobs, oracle, datasets, escrow);
        stakeHandler = new StakeHandler(p, store);
        providerHandler = new ProviderHandler(p, store);
        holderHandler = new HolderHandler(p, store);
        creditHandler = new CreditHandler(p, store);
        meteringHandler = new MeteringHandler(p, store, signerKeys, 2, keeper);
        governanceHandler = new GovernanceHandler(p, store, cfg.maxGrace, cfg.longWarp);
        keeperHandler = new KeeperHandler(p, store, keeper);
        handlers.push(stakeHandler);
        handlers.push(providerHandler);
        handlers.push(holderHandler);
        handlers.push(creditHandler);
        handlers.push(meteringHandler);
        handlers.push(governanceHandler);
        handlers.push(keeperHandler);
        if (cfg.issuer) {
            address issuer = makeAddr("seriesIssuer");
            vm.startPrank(admin);
            credits.grantRole(credits.SERIES_ISSUER_ROLE(), issuer);
            vm.stopPrank();
            issuerHandler = new IssuerHandler(p, store, issuer);
            handlers.push(issuerHandler);
        }
        if (cfg.cooperatives != 0) {
            dealProviderHandler = new DealProviderHandler(p, store);
            dealKeeperHandler = new DealKeeperHandler(p, store, keeper);
            cooperativeHandler = _setUpCooperatives(p, cfg.cooperatives);
            handlers.push(dealProviderHandler);
            handlers.push(dealKeeperHandler);
            handlers.push(cooperativeHandler);
        }
    }

    /// @dev A pool of providers, all funded and approving the registry and the escrow (dispute bonds); the first
    /// `registered` of them registered with `stake` staked.
    function _setUpProviders(Config memory cfg) private {
        for (uint256 i; i < cfg.providers; ++i) {
            address provider = makeAddr(string.concat("provider", vm.toString(i)));
            _fund(provider, PROVIDER_CPT);
            vm.startPrank(provider);
            token.approve(address(registry), type(uint256).max);
            token.approve(address(escrow), type(uint256).max);
            if (i < cfg.registered) {
                registry.register("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
                registry.stake(cfg.stake);
            }
            vm.stopPrank();
            store.addProvider(provider);
        }
    }

    /// @dev Holders (members, in the barter suite), funded with CPT for challenge bonds.
    function _setUpHolders(uint256 count) private {
        for (uint256 i; i < count; ++i) {
            address holder = makeAddr(string.concat("holder", vm.toString(i)));
            _fund(holder, HOLDER_CPT);
            vm.prank(holder);
            token.approve(address(oracle), type(uint256).max);
            store.addHolder(holder);
        }
    }

    /// @dev Three bonded signers with threshold 2, the challenge parameters, and Jobs' grace (at least the period).
    function _setUpOracle(uint40 grace, uint40 period) private {
        address[] memory addrs = new address[](3);
        uint256[] memory keys = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            (addrs[i], keys[i]) = makeAddrAndKey(string.concat("signer", vm.toString(i)));
        }
        // Sorted by address, as the oracle wants them.
        for (uint256 i; i < 3; ++i) {
            for (uint256 j = i + 1; j < 3; ++j) {
                if (addrs[j] < addrs[i]) {
                    (addrs[i], addrs[j]) = (addrs[j], addrs[i]);
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                }
            }
        }
        for (uint256 i; i < 3; ++i) {
            signerKeys.push(keys[i]);
            signers.push(addrs[i]);
            _fund(addrs[i], SIGNER_CPT);
            vm.startPrank(addrs[i]);
            token.approve(address(oracle), type(uint256).max);
            oracle.depositBond(SIGNER_BOND);
            vm.stopPrank();
        }
        vm.startPrank(admin);
        jobs.setSettlementGrace(grace);
        oracle.setSigners(addrs, 2);
        oracle.setChallengeParams(period, CHALLENGE_BOND, SIGNER_BOND, SLASH_AMOUNT);
        vm.stopPrank();
    }

    function _setUpCooperatives(Protocol memory p, uint256 count) private returns (CooperativeHandler) {
        IDataCooperative[] memory coops = new IDataCooperative[](count);
        address[] memory admins = new address[](count);
        for (uint256 i; i < count; ++i) {
            admins[i] = makeAddr(string.concat("coopAdmin", vm.toString(i)));
            coops[i] = _newCooperative(admins[i], string.concat("coop", vm.toString(i)));
            _fund(address(coops[i]), 1_000 * WAD);
            store.track(address(coops[i]));
        }
        return new CooperativeHandler(p, store, coops, admins);
    }

    /// @dev Targets what every lifecycle suite runs: the actions of providers, holders, the oracle, governance and
    /// the keeper, and those of the series issuer and of the barter's actors where the suite has them.
    function _targetLifecycle() internal {
        _target(
            address(providerHandler),
            abi.encodePacked(
                ProviderHandler.createSeries.selector,
                ProviderHandler.mint.selector,
                ProviderHandler.acknowledge.selector,
                ProviderHandler.closeFrozen.selector
            )
        );

        _target(
            address(holderHandler),
            abi.encodePacked(HolderHandler.open.selector, HolderHandler.close.selector, HolderHandler.claim.selector)
        );

        _target(
            address(meteringHandler),
            abi.encodePacked(
                MeteringHandler.report.selector,
                MeteringHandler.finalize.selector,
                MeteringHandler.challenge.selector,
                MeteringHandler.resolve.selector,
                MeteringHandler.lapse.selector
            )
        );

        _target(
            address(governanceHandler),
            abi.encodePacked(
                GovernanceHandler.pauseJobs.selector,
                GovernanceHandler.setSettlementGrace.selector,
                GovernanceHandler.setChallengePeriod.selector,
                GovernanceHandler.warp.selector
            )
        );

        _target(address(keeperHandler), abi.encodePacked(KeeperHandler.releaseCollateral.selector));

        if (address(issuerHandler) != address(0)) {
            _target(address(issuerHandler), abi.encodePacked(IssuerHandler.setFrozen.selector));
        }
        if (address(cooperativeHandler) != address(0)) {
            _targetBarter();
        }
    }

    function _targetBarter() private {
        _target(
            address(cooperativeHandler),
            abi.encodePacked(
                CooperativeHandler.setShares.selector,
                CooperativeHandler.registerDataset.selector,
                CooperativeHandler.offer.selector,
                CooperativeHandler.cancelOffer.selector,
                CooperativeHandler.release.selector,
                CooperativeHandler.memberClaim.selector
            )
        );

        _target(
            address(dealProviderHandler),
            abi.encodePacked(DealProviderHandler.accept.selector, DealProviderHandler.dispute.selector)
        );

        _target(
            address(dealKeeperHandler),
            abi.encodePacked(
                DealKeeperHandler.markDue.selector,
                DealKeeperHandler.claimKeyTimeout.selector,
                DealKeeperHandler.settle.selector
            )
        );
    }

    /*//////////////////////////////////////////////////////////////////////////
                                      INVARIANTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice What the invariants read of the chain, read once per check (external calls dominate a campaign's
    /// time: every check runs after every call).
    struct Snapshot {
        ComputeTypes.Series[] series; // ids 1..n: every series was made by a handler
        uint256[] perCredit;
        uint256[] custody; // credits of each series in Jobs
        ComputeTypes.Job[] jobList; // ids 1..m: every job was opened by a handler
    }

    function _snapshot() internal view returns (Snapshot memory snap) {
        uint256 n = credits.seriesCount();
        assertEq(n, store.seriesCount(), "a series was made outside the handlers");
        snap.series = new ComputeTypes.Series[](n);
        snap.perCredit = new uint256[](n);
        snap.custody = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            snap.series[i] = credits.seriesOf(i + 1);
            snap.perCredit[i] = credits.collateralPerCredit(i + 1);
            snap.custody[i] = credits.balanceOf(address(jobs), i + 1);
        }
        uint256 m = jobs.jobCount();
        assertEq(m, store.jobCount(), "a job was opened outside the handlers");
        snap.jobList = new ComputeTypes.Job[](m);
        for (uint256 j; j < m; ++j) {
            snap.jobList[j] = jobs.jobOf(j + 1);
        }
    }

    /// @dev No handler recorded a violation around its calls.
    function _assertHandlers() internal view {
        for (uint256 i; i < handlers.length; ++i) {
            if (handlers[i].violations() != 0) assertEq(handlers[i].violations(), 0, handlers[i].firstViolation());
        }
    }

    /// @dev Every outstanding credit is redeemable or compensable.
    function _assertCollateral(Snapshot memory snap) internal view {
        for (uint256 i; i < snap.series.length; ++i) {
            ComputeTypes.Series memory s = snap.series[i];
            if (block.timestamp < s.end) {
                assertGe(
                    s.collateral,
                    uint256(s.minted - s.burned) * snap.perCredit[i],
                    "a live series' credits lack collateral"
                );
            } else {
                assertGe(s.collateral, snap.custody[i] * snap.perCredit[i], "an ended series' jobs lack collateral");
            }
        }
        address[] memory providers = store.allProviders();
        uint256 inRegistry;
        for (uint256 p; p < providers.length; ++p) {
            ComputeTypes.Provider memory stake = registry.providerOf(providers[p]);
            assertGe(stake.stake, stake.locked, "a provider's locked stake exceeds its stake");
            uint256 collateral;
            for (uint256 i; i < snap.series.length; ++i) {
                if (snap.series[i].provider == providers[p]) collateral += snap.series[i].collateral;
            }
            assertEq(collateral, stake.locked, "a provider's locked stake is not its series' collateral");
            inRegistry += uint256(stake.stake) + stake.unbonding;
        }
        assertEq(token.balanceOf(address(registry)), inRegistry, "the registry holds other than stakes and unbonding");
    }

    /// @dev Nobody's credits moved or burned without their consent.
    function _assertConsent(Snapshot memory snap) internal view {
        uint256[] memory custody = new uint256[](snap.series.length);
        for (uint256 j; j < snap.jobList.length; ++j) {
            ComputeTypes.Job memory job = snap.jobList[j];
            if (_isRunning(job.status)) custody[job.seriesId - 1] += job.maxSeconds - job.usedSeconds;
        }
        address[] memory accounts = store.allAccounts();
        uint256[] memory ids = new uint256[](accounts.length);
        for (uint256 i; i < snap.series.length; ++i) {
            uint256 id = i + 1;
            assertEq(snap.custody[i], custody[i], "Jobs holds other than the unused credits of its running jobs");
            for (uint256 a; a < ids.length; ++a) {
                ids[a] = id;
            }
            uint256[] memory balances = credits.balanceOfBatch(accounts, ids);
            uint256[] memory ghosts = store.ghostBalances(accounts, id);
            uint256 held = custody[i];
            for (uint256 a; a < accounts.length; ++a) {
                assertEq(balances[a], ghosts[a], "credits moved or burned without their holder's action");
                held += balances[a];
            }
            assertEq(held, snap.series[i].minted - snap.series[i].burned, "credits are held by someone untracked");
        }
    }

    /// @dev Every finalised unit of usage billed exactly once; nothing measured silently dropped.
    function _assertMetering(Snapshot memory snap) internal view {
        MeteringHandler m = meteringHandler;
        _assertLedger(m.total(), type(uint256).max);
        (MeteringHandler.Ledger[] memory ledgers, uint256[] memory holds) = m.ledgers(snap.jobList.length);
        uint256[] memory delivered = new uint256[](snap.series.length);
        uint256[] memory seriesHolds = new uint256[](snap.series.length);
        for (uint256 j; j < snap.jobList.length; ++j) {
            ComputeTypes.Job memory job = snap.jobList[j];
            _assertLedger(ledgers[j], job.usedSeconds);
            if (holds[j] != 0) assertEq(jobs.holdsOf(j + 1), holds[j], "a job's holds are not its open challenges");
            delivered[job.seriesId - 1] += job.usedSeconds;
            seriesHolds[job.seriesId - 1] += holds[j];
        }
        for (uint256 i; i < snap.series.length; ++i) {
            assertEq(snap.series[i].delivered, delivered[i], "a series' delivered total is not its jobs' usage");
            assertEq(jobs.seriesHoldsOf(i + 1), seriesHolds[i], "a series' holds are not its open challenges");
        }
        uint256 bonds = m.ghostOpenBonds();
        for (uint256 s; s < signers.length; ++s) {
            bonds += oracle.bondOf(signers[s]);
        }
        assertEq(token.balanceOf(address(oracle)), bonds, "the oracle holds other than signer and challenge bonds");
    }

    function _assertLedger(MeteringHandler.Ledger memory l, uint256 used) private pure {
        assertEq(
            l.accepted,
            l.applied + l.unbilled + l.voided + l.skipped + l.pending + l.held,
            "accepted usage is not applied, unbilled, voided, skipped, pending or held: some was dropped"
        );
        if (used != type(uint256).max) {
            assertEq(l.applied, used, "a job's used seconds are not the usage billed to it");
        }
    }

    /// @dev The barter escrow's promises.
    function _assertBarter(Snapshot memory snap) internal view {
        uint256 n = escrow.dealCount();
        assertEq(n, store.dealCount(), "a deal was offered outside the handlers");
        uint256[] memory ghostBonds = cooperativeHandler.ghostBonds(n);
        (bool[] memory settled, uint256[] memory deliveredAtSettle) = dealKeeperHandler.settlements(n);
        uint256 bonds;
        for (uint256 i; i < n; ++i) {
            BarterTypes.Deal memory d = escrow.dealOf(i + 1);
            bool live = d.status == BarterTypes.DealStatus.Offered || d.status == BarterTypes.DealStatus.Accepted;
            assertEq(d.bond, live ? ghostBonds[i] : 0, "a deal's bond is not what it should hold");
            bonds += d.bond;
            if (d.seriesId == 0) continue;
            uint256 delivered = snap.series[d.seriesId - 1].delivered;
            uint256 due = delivered * d.steps / d.gpuSeconds;
            if (due > d.steps) due = d.steps;
            assertLe(d.released, due, "the provider holds a key of a step not delivered");
            if (d.status == BarterTypes.DealStatus.Accepted) {
                bool clockRuns = d.dueSince != 0 && block.timestamp <= uint256(d.dueSince) + d.keyTimeout;
                assertTrue(d.released + 1 >= due || clockRuns, "the provider delivered over a step unpaid");
            }
            assertEq(d.status == BarterTypes.DealStatus.Settled, settled[i], "a deal settled other than by settle");
            if (settled[i]) {
                assertEq(
                    delivered,
                    deliveredAtSettle[i],
                    "a settled deal's delivered total moved: GPU time delivered after the bond was returned"
                );
            }
        }
        assertEq(token.balanceOf(address(escrow)), bonds, "the escrow holds other than the live deals' bonds");
    }

    /// @dev Members' claims plus the cooperative's balance equal what it received.
    function _assertCooperatives() internal view {
        CooperativeHandler c = cooperativeHandler;
        for (uint256 i; i < c.cooperativeCount(); ++i) {
            IDataCooperative coop = c.cooperatives(i);
            for (uint256 d = 1; d <= coop.distributionCount(); ++d) {
                BarterTypes.Distribution memory dist = coop.distributionOf(d);
                assertEq(
                    credits.balanceOf(address(coop), dist.seriesId) + c.ghostClaimedSum(coop, d),
                    dist.amount,
                    "a cooperative's credits plus its members' claims differ from what it received"
                );
            }
        }
    }

    /// @dev What the members' parts of each distribution leave undistributed is less than the member count
    /// (checked after each run: it reads every member's part of every distribution).
    function _assertDust() internal view {
        CooperativeHandler c = cooperativeHandler;
        address[] memory members = store.allAccounts(); // the holders, then the cooperatives (no shares)
        for (uint256 i; i < c.cooperativeCount(); ++i) {
            IDataCooperative coop = c.cooperatives(i);
            for (uint256 d = 1; d <= coop.distributionCount(); ++d) {
                uint256 amount = coop.distributionOf(d).amount;
                uint256 parts = c.ghostClaimedSum(coop, d);
                for (uint256 m; m < members.length; ++m) {
                    parts += coop.claimable(d, members[m]); // 0 once claimed
                }
                assertLe(parts, amount, "members' parts exceed the distribution");
                assertLt(amount - parts, store.holderCount(), "a distribution leaves more dust than members");
            }
        }
    }

    function _isRunning(ComputeTypes.JobStatus status) private pure returns (bool) {
        return status == ComputeTypes.JobStatus.Opened || status == ComputeTypes.JobStatus.Acknowledged
            || status == ComputeTypes.JobStatus.Closing;
    }
}
