// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDataCooperative} from "contracts/interfaces/IDataCooperative.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";
import {Metering} from "contracts/types/Metering.sol";

import {ProtocolFixture} from "../base/ProtocolFixture.sol";
import {SealedKeys} from "./SealedKeys.sol";

/// @title LifecycleRegressions
/// @notice Minimal sequences of the violations the lifecycle invariant suites found, each asserting what the
/// protocol promises (so each fails while the violation stands).
contract LifecycleRegressions is ProtocolFixture {
    uint256 internal signerKey;
    address internal provider;
    address internal member;
    address internal coopAdmin = makeAddr("coopAdmin");
    IDataCooperative internal coop;

    function setUp() public {
        _deployProtocol();
        address signer;
        (signer, signerKey) = makeAddrAndKey("signer");
        address[] memory signers = new address[](1);
        signers[0] = signer;
        vm.startPrank(admin);
        oracle.setSigners(signers, 1);
        // A challenge period as long as the settlement grace (1 hour, the deploy plan's): what the oracle allows.
        oracle.setChallengeParams(SETTLEMENT_GRACE, 1e18, 0, 0);
        vm.stopPrank();

        provider = _newProvider("provider", 100 * WAD);
        member = makeAddr("member");
        _fund(member, 10 * WAD);
        vm.prank(member);
        token.approve(address(oracle), type(uint256).max);
        coop = _newCooperative(coopAdmin, "coop");
        _fund(address(coop), 100 * WAD);
    }

    /// @notice H-3 through a challenge: usage measured in the window and reported before the job's cutoff is
    /// still challengeable after the deal settled (the challenge period outlasts the cutoff); the holder, a member
    /// of the cooperative, challenges its own entry after the settlement, the arbiter rightly rejects the
    /// challenge, and the entry bills: a step becomes due after the cooperative's bond went back, so the provider
    /// delivered a step of GPU time for which it gets neither the key nor the bond.
    function test_settledDealDeliveryIsFinal_whenChallengedAfterSettlement() public {
        (uint256 dealId, uint256 seriesId, uint256 jobId) = _acceptedDealWithJob();
        BarterTypes.Deal memory d = escrow.dealOf(dealId);

        // 400 of 1,000 GPU-seconds delivered and billed in the window: step 1 (500) is not due.
        (uint256 batch, ComputeTypes.Usage[] memory entries) = _report(jobId, 400_000);
        vm.warp(block.timestamp + SETTLEMENT_GRACE);
        oracle.finalize(batch, entries);
        assertEq(credits.deliveredOf(seriesId), 400);

        // 200 more, measured in the window and reported a second before the job's cutoff (end + grace).
        vm.warp(uint256(d.end) + SETTLEMENT_GRACE - 1);
        (batch, entries) = _report(jobId, 600_000);

        // The deal settles at end + max grace: nothing due, the bond goes back to the cooperative.
        vm.warp(escrow.settlesAt(dealId));
        escrow.settle(dealId);
        assertEq(uint8(escrow.dealOf(dealId).status), uint8(BarterTypes.DealStatus.Settled));

        // The member challenges its own entry (still in its challenge period); the arbiter rejects it.
        vm.prank(member);
        try oracle.challenge(batch, entries, 0) {
            vm.prank(admin);
            oracle.resolve(batch, 0, false);
        } catch {}

        assertEq(credits.deliveredOf(seriesId), 400, "usage billed after the deal settled");
        assertEq(escrow.dueSteps(dealId), 0, "a step became due after the cooperative's bond was returned");
    }

    /// @notice The same hole outside a barter: Jobs refuses usage at or after a job's cutoff, yet usage measured
    /// and reported after it bills through a challenge that the arbiter rejects.
    function test_usageAfterCutoffNeverBills_whenChallenged() public {
        (, uint256 seriesId, uint256 jobId) = _acceptedDealWithJob();
        ComputeTypes.Job memory job = jobs.jobOf(jobId);

        vm.warp(job.cutoff + 1 days);
        (uint256 batch, ComputeTypes.Usage[] memory entries) = _report(jobId, 300_000);
        vm.prank(member);
        try oracle.challenge(batch, entries, 0) {
            vm.prank(admin);
            oracle.resolve(batch, 0, false);
        } catch {}

        assertEq(jobs.jobOf(jobId).usedSeconds, 0, "usage measured after the job's cutoff was billed");
        assertEq(credits.deliveredOf(seriesId), 0, "usage measured after the job's cutoff was delivered");
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       HELPERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev A 2-step deal of 1,000 GPU-seconds over a day, accepted; the member holds its credits and runs them
    /// all in one acknowledged job.
    function _acceptedDealWithJob() private returns (uint256 dealId, uint256 seriesId, uint256 jobId) {
        bytes32[] memory commitments = new bytes32[](2);
        commitments[0] = SealedKeys.commitment(SealedKeys.key(1, 1));
        commitments[1] = SealedKeys.commitment(SealedKeys.key(1, 2));
        vm.startPrank(coopAdmin);
        coop.setShares(member, 1);
        uint256 datasetId = coop.registerDataset(
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", 2, commitments, keccak256("root"), 0
        );
        dealId = coop.offer(
            BarterTypes.OfferTerms({
                datasetId: datasetId,
                classId: H100,
                gpuSeconds: 1_000,
                start: uint40(block.timestamp),
                end: uint40(block.timestamp + 1 days),
                steps: 2,
                keyTimeout: 1 hours,
                bond: uint128(10 * WAD)
            })
        );
        vm.stopPrank();
        (uint256 px, uint256 py) = SealedKeys.publicKey(7);
        vm.prank(provider);
        seriesId = escrow.accept(dealId, px, py);
        vm.startPrank(member);
        coop.claim();
        jobId = jobs.open(seriesId, 1_000, "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq");
        vm.stopPrank();
        vm.prank(provider);
        jobs.acknowledge(jobId);
    }

    /// @dev The oracle signs and submits job `jobId`'s cumulative `allocatedMs` on one GPU.
    function _report(uint256 jobId, uint64 allocatedMs)
        private
        returns (uint256 batchId, ComputeTypes.Usage[] memory entries)
    {
        Metering.UsageReport[] memory reports = new Metering.UsageReport[](1);
        reports[0] = Metering.UsageReport({
            jobId: jobId,
            gpuId: keccak256("GPU-0"),
            gpuModel: "NVIDIA H100 80GB HBM3",
            allocatedGpuMs: allocatedMs,
            smActiveGpuMs: allocatedMs / 2,
            energyMj: 0,
            sampleCount: 1,
            periodEnd: uint64(block.timestamp)
        });
        uint64 before = oracle.cumulativeMs(jobId, keccak256("GPU-0"));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, oracle.batchDigest(reports));
        bytes[] memory signatures = new bytes[](1);
        signatures[0] = abi.encodePacked(r, s, v);
        batchId = oracle.submit(reports, signatures);
        entries = new ComputeTypes.Usage[](1);
        entries[0] = ComputeTypes.Usage(jobId, allocatedMs / 1000 - before / 1000);
    }
}
