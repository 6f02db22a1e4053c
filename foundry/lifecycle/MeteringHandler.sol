// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";

import {IJobs} from "contracts/interfaces/IJobs.sol";
import {IMeteringOracle} from "contracts/interfaces/IMeteringOracle.sol";
import {BarterTypes} from "contracts/types/BarterTypes.sol";
import {ComputeTypes} from "contracts/types/ComputeTypes.sol";
import {Metering} from "contracts/types/Metering.sol";

import {LifecycleHandler, Protocol} from "./LifecycleHandler.sol";
import {LifecycleStore} from "./LifecycleStore.sol";

/// @title MeteringHandler
/// @notice The metering oracle's signers (sign usage reports with `vm.sign` over
/// {IMeteringOracle-batchDigest} and submit them: new usage, stale or repeated counters, unknown jobs), the
/// keeper that finalises batches and lapses challenges, the holders that challenge an entry of their own job
/// with the bond, and the arbiter that rules.
///
/// Ghosts: every accepted entry (job, whole GPU-seconds) as the spec computes it from the cumulative
/// counters, and its fate, set once: applied (billed, with what went beyond the job's credits unbilled),
/// skipped (with the never-applies reason), challenged (held), voided by an upheld challenge, or billed by a
/// rejected or lapsed one. Per job, the seconds accepted equal the sum over the fates, and the seconds billed
/// equal the job's `usedSeconds`; the fates are read from the events of the very call that settled them.
///
/// As the provider's agent in a barter, it delivers at most one step beyond the keys released: the usage
/// it reports for a deal's series never makes more than `released + 1` steps due.
contract MeteringHandler is LifecycleHandler {
    uint256 public constant MAX_BATCHES = 40;
    uint256 internal constant MAX_MS = 3_000_000; // 50 GPU-minutes per report at most

    enum Fate {
        Pending,
        Applied,
        Skipped,
        Challenged,
        Voided,
        Ruled // billed (or found nothing left to bill) after a rejected or lapsed challenge
    }

    /// @notice Per job: GPU-seconds accepted, and where they went.
    struct Ledger {
        uint256 accepted;
        uint256 applied; // billed: burned credits
        uint256 unbilled; // beyond the job's locked credits
        uint256 voided; // upheld challenges
        uint256 skipped; // never applicable
        uint256 pending; // in batches not final yet
        uint256 held; // under an open challenge
    }

    struct OpenChallenge {
        uint256 batchId;
        uint256 index;
    }

    address public immutable keeper;
    uint256[] internal _signerKeys; // sorted by address
    uint8 internal immutable _threshold;

    uint256[] public batchIds;
    mapping(uint256 batchId => ComputeTypes.Usage[]) internal _entries;
    mapping(uint256 batchId => mapping(uint256 index => Fate)) public fateOf;
    mapping(uint256 batchId => bool) public ghostFinalized;
    OpenChallenge[] internal _open;

    mapping(bytes32 jobGpu => uint64) public ghostCumulative;
    mapping(uint256 jobId => Ledger) internal _ledgers;
    Ledger internal _total;
    mapping(uint256 jobId => uint256) public ghostHolds;
    /// @notice CPT the oracle holds for open challenges.
    uint256 public ghostOpenBonds;
    /// @notice GPU-seconds accepted for jobs of a series (what its provider has delivered, as it counts).
    mapping(uint256 seriesId => uint256) public committedOf;
    /// @notice Skips by Jobs' reason: unknown job, status, too late.
    uint256 public skippedUnknown;
    uint256 public skippedStatus;
    uint256 public skippedLate;

    constructor(Protocol memory p, LifecycleStore store_, uint256[] memory signerKeys, uint8 threshold, address keeper_)
        LifecycleHandler(p, store_)
    {
        _signerKeys = signerKeys;
        _threshold = threshold;
        keeper = keeper_;
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   VIEWS FOR THE SUITE
    //////////////////////////////////////////////////////////////////////////*/

    function ledgerOf(uint256 jobId) external view returns (Ledger memory) {
        return _ledgers[jobId];
    }

    /// @notice The ledgers of jobs 1 to `count`, and their ghost holds.
    function ledgers(uint256 count) external view returns (Ledger[] memory l, uint256[] memory holds) {
        l = new Ledger[](count);
        holds = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            l[i] = _ledgers[i + 1];
            holds[i] = ghostHolds[i + 1];
        }
    }

    function total() external view returns (Ledger memory) {
        return _total;
    }

    function batchCount() external view returns (uint256) {
        return batchIds.length;
    }

    function entriesOf(uint256 batchId) external view returns (ComputeTypes.Usage[] memory) {
        return _entries[batchId];
    }

    function openChallengeCount() external view returns (uint256) {
        return _open.length;
    }

    function signerKeyCount() external view returns (uint256) {
        return _signerKeys.length;
    }

    function signerAt(uint256 i) external view returns (address) {
        return vm.addr(_signerKeys[i]);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                       SIGNERS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The oracle signs and submits one to three reports: mostly new usage of a job (that takes usage,
    /// most of the time) on one of two GPUs, sometimes a repeated or stale counter, sometimes an unknown job.
    function report(uint256 jobSeed, uint256 gpuSeed, uint256 msSeed, uint256 modeSeed) external {
        if (batchIds.length >= MAX_BATCHES) revert HandlerNothingToDo("batch cap reached");
        uint256 count = 1 + modeSeed % 3;
        Metering.UsageReport[] memory reports = new Metering.UsageReport[](count);
        ComputeTypes.Usage[] memory entries = new ComputeTypes.Usage[](count);
        uint256 n;
        for (uint256 k; k < count; ++k) {
            reports[k] = k == 0
                ? _report(jobSeed, gpuSeed, msSeed, _sub(modeSeed, 1))
                : _report(_sub(jobSeed, k), _sub(gpuSeed, k), _sub(msSeed, k), _sub(modeSeed, k + 1));
            uint256 secs = _accept(reports[k]);
            if (secs != 0) entries[n++] = ComputeTypes.Usage(reports[k].jobId, secs);
        }
        assembly ("memory-safe") {
            mstore(entries, n)
        }
        bytes[] memory signatures = _sign(reports, _sub(modeSeed, 0));

        vm.recordLogs();
        vm.prank(keeper);
        try oracle.submit(reports, signatures) returns (uint256 batchId) {
            _record(batchId, entries, vm.getRecordedLogs());
        } catch (bytes memory err) {
            // Metering works while Jobs is paused: the cutoff clock runs on, so usage measured in time must land.
            _check(false, _because("submit refused a well-signed batch", err));
        }
    }

    /// @notice The keeper finalises a batch (with `wait`, once its challenge period is over): once its period
    /// is over it must go through, paused Jobs or not (the cutoff clock runs on), applying every unchallenged
    /// entry or skipping it for a reason that never changes.
    function finalize(uint256 batchSeed, bool wait) external {
        uint256 batchId = _pendingBatch(batchSeed);
        (uint40 finalAt,,,) = oracle.batchOf(batchId);
        if (wait) _warpTo(finalAt);
        bool mustRefuse = block.timestamp < finalAt;

        vm.recordLogs();
        vm.prank(keeper);
        try oracle.finalize(batchId, _entries[batchId]) {
            _check(!mustRefuse, "finalize went through before the challenge period's end");
            ghostFinalized[batchId] = true;
            _settle(batchId, vm.getRecordedLogs());
        } catch (bytes memory err) {
            if (mustRefuse) revert HandlerNothingToDo("not finalizable, as it must be");
            _check(false, _because("finalize refused a final batch", err));
        }
    }

    /*//////////////////////////////////////////////////////////////////////////
                                 CHALLENGES AND RULINGS
    //////////////////////////////////////////////////////////////////////////*/

    /// @notice The holder of a job challenges a pending entry of it with the challenge bond: the entry and
    /// the job are held until the ruling.
    function challenge(uint256 batchSeed, uint256 indexSeed) external {
        (uint256 batchId, uint256 index) = _challengeable(batchSeed, indexSeed);
        ComputeTypes.Usage memory entry = _entries[batchId][index];
        address holder = jobs.jobOf(entry.jobId).holder;
        uint256 bond = _challengeBond();
        uint256 holderCpt = token.balanceOf(holder);

        vm.prank(holder);
        oracle.challenge(batchId, _entries[batchId], index);

        fateOf[batchId][index] = Fate.Challenged;
        _move(entry, true);
        ghostOpenBonds += bond;
        ++ghostHolds[entry.jobId];
        _open.push(OpenChallenge(batchId, index));
        _check(token.balanceOf(holder) + bond == holderCpt, "challenge: the bond was not taken");
        _check(jobs.holdsOf(entry.jobId) == ghostHolds[entry.jobId], "challenge: the job is not held");
    }

    /// @notice The arbiter rules on an open challenge within its ruling window: upheld voids the entry and pays
    /// the bond back with the signers' slashed bonds; rejected bills the entry and forfeits the bond.
    function resolve(uint256 challengeSeed, bool upheld) external {
        (uint256 slot, OpenChallenge memory c) = _openChallenge(challengeSeed);
        Ruling memory r = _before(c);

        vm.recordLogs();
        vm.prank(admin);
        oracle.resolve(c.batchId, c.index, upheld);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        _closeChallenge(slot, c, upheld ? Fate.Voided : Fate.Ruled, logs);
        uint256 slashed = r.signerBonds - _signerBonds();
        if (upheld) {
            _check(token.balanceOf(r.challenger) == r.challengerCpt + r.bond + slashed, "resolve: upheld, not repaid");
        } else {
            _check(slashed == 0, "resolve: rejected, yet signers slashed");
            _check(token.balanceOf(admin) == r.treasuryCpt + r.bond, "resolve: rejected, bond not forfeited");
        }
    }

    /// @notice Past the ruling window (with `wait`, time passes to it) anyone lapses an open challenge: the
    /// entry bills and the bond returns.
    function lapse(uint256 challengeSeed, bool wait) external {
        (uint256 slot, OpenChallenge memory c) = _openChallenge(challengeSeed);
        if (wait) _warpTo(uint256(oracle.resolveByOf(c.batchId)) + 1);
        Ruling memory r = _before(c);

        vm.recordLogs();
        vm.prank(keeper);
        oracle.lapse(c.batchId, c.index);

        _closeChallenge(slot, c, Fate.Ruled, vm.getRecordedLogs());
        _check(token.balanceOf(r.challenger) == r.challengerCpt + r.bond, "lapse: the bond did not return");
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   BUILDING REPORTS
    //////////////////////////////////////////////////////////////////////////*/

    function _report(uint256 jobSeed, uint256 gpuSeed, uint256 msSeed, uint256 mode)
        private
        view
        returns (Metering.UsageReport memory r)
    {
        mode %= 16;
        // An unknown job: far beyond the job cap, so that no job opened later takes the id.
        r.jobId = mode == 0 ? 1_000_000 + jobSeed % 3 : _reportedJob(jobSeed);
        r.gpuId = keccak256(abi.encode("gpu", gpuSeed % 2));
        r.gpuModel = "NVIDIA H100 80GB HBM3";
        uint64 stored = ghostCumulative[keccak256(abi.encode(r.jobId, r.gpuId))];
        uint256 cap = mode == 1 ? 0 : _cap(r.jobId, stored);
        // A repeated or stale counter (adds nothing), or new usage within the cap.
        r.allocatedGpuMs = cap == 0 ? uint64(bound(msSeed, 0, stored)) : stored + uint64(bound(msSeed, 1, cap));
        r.smActiveGpuMs = r.allocatedGpuMs / 2;
        r.energyMj = r.allocatedGpuMs * 300;
        r.sampleCount = uint32(r.allocatedGpuMs / 1000);
        r.periodEnd = uint64(block.timestamp);
    }

    /// @dev A job to report on, mostly one that takes usage now.
    function _reportedJob(uint256 seed) private view returns (uint256) {
        uint256 n = store.jobCount();
        if (n == 0) revert HandlerNothingToDo("no job yet");
        if (seed % 4 != 0) {
            for (uint256 i; i < n; ++i) {
                uint256 jobId = store.jobIds((seed + i) % n);
                if (_takesUsage(jobs.jobOf(jobId))) return jobId;
            }
        }
        return store.jobIds(seed % n);
    }

    /// @dev The most milliseconds one report may add to `jobId`'s counter `stored`: as the provider's agent in a
    /// barter, no more than keeps the deal's series within one step beyond the keys released, and nothing once
    /// the deal settled.
    function _cap(uint256 jobId, uint256 stored) private view returns (uint256) {
        if (jobId > jobs.jobCount()) return MAX_MS;
        uint256 seriesId = jobs.jobOf(jobId).seriesId;
        ComputeTypes.Series memory s = credits.seriesOf(seriesId);
        if (s.backing != ComputeTypes.Backing.Deal) return MAX_MS;
        BarterTypes.Deal memory d = escrow.dealOf(s.dealId);
        // After a settlement the provider delivers nothing more on the series; after a fault it is its own call.
        if (d.status == BarterTypes.DealStatus.Settled) return 0;
        if (d.status != BarterTypes.DealStatus.Accepted) return MAX_MS;
        // The largest delivered total that makes at most released + 1 steps due.
        uint256 limit = ((uint256(d.released) + 2) * d.gpuSeconds - 1) / d.steps;
        uint256 committed = committedOf[seriesId];
        // Whole seconds count when the counter crosses them: stay below the next second past the room left (none
        // when the room is used up: then the report repeats the counter).
        uint256 seconds_ = committed >= limit ? 0 : limit - committed;
        uint256 room = seconds_ * 1000 + 999 - stored % 1000;
        return room < MAX_MS ? room : MAX_MS;
    }

    /// @dev The whole GPU-seconds report `r` adds, as the spec says (`floor(new / 1000) - floor(old / 1000)`,
    /// 0 for a counter not above the stored one), advancing the ghost counter.
    function _accept(Metering.UsageReport memory r) private returns (uint256 secs) {
        bytes32 key = keccak256(abi.encode(r.jobId, r.gpuId));
        uint64 stored = ghostCumulative[key];
        if (r.allocatedGpuMs <= stored) return 0;
        ghostCumulative[key] = r.allocatedGpuMs;
        secs = r.allocatedGpuMs / 1000 - stored / 1000;
        if (secs != 0 && r.jobId <= jobs.jobCount()) committedOf[jobs.jobOf(r.jobId).seriesId] += secs;
    }

    /// @dev Signatures of a quorum of signers (a subset picked by `seed`), ordered by address; bonds topped up.
    function _sign(Metering.UsageReport[] memory reports, uint256 seed) private returns (bytes[] memory signatures) {
        bytes32 digest = oracle.batchDigest(reports);
        uint256 count = _signerKeys.length;
        signatures = new bytes[](_threshold);
        uint256 skip = seed % count; // with threshold = count - 1, the one signer left out
        uint256 n;
        for (uint256 i; i < count && n < _threshold; ++i) {
            if (i == skip && count - 1 >= _threshold) continue;
            _topUp(vm.addr(_signerKeys[i]));
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(_signerKeys[i], digest);
            signatures[n++] = abi.encodePacked(r, s, v);
        }
    }

    /// @dev A signer slashed below the required bond deposits again (its own CPT, approved in setUp).
    function _topUp(address signer) private {
        (, bytes memory out) = address(oracle).staticcall(abi.encodeWithSignature("bonds()"));
        (, uint256 required,) = abi.decode(out, (uint256, uint256, uint256));
        uint256 bond = oracle.bondOf(signer);
        if (bond >= required) return;
        vm.prank(signer);
        oracle.depositBond(required - bond);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                  FATES FROM THE EVENTS
    //////////////////////////////////////////////////////////////////////////*/

    /// @dev A batch accepted: its entries must be the spec's; they are pending, or settled at once.
    function _record(uint256 batchId, ComputeTypes.Usage[] memory entries, Vm.Log[] memory logs) private {
        (,, bool finalized, bytes32 entriesHash) = oracle.batchOf(batchId);
        _check(
            entriesHash == keccak256(abi.encode(entries)), "submit: the batch's entries are not the counters' increase"
        );
        batchIds.push(batchId);
        for (uint256 i; i < entries.length; ++i) {
            _entries[batchId].push(entries[i]);
            Ledger storage l = _ledgers[entries[i].jobId];
            l.accepted += entries[i].gpuSeconds;
            l.pending += entries[i].gpuSeconds;
            _total.accepted += entries[i].gpuSeconds;
            _total.pending += entries[i].gpuSeconds;
        }
        if (finalized) {
            ghostFinalized[batchId] = true;
            _settle(batchId, logs);
        }
    }

    /// @dev Each pending entry of a batch just finalised, in order, against the next usage event of the call:
    /// Jobs' `UsageApplied` for that job, or the oracle's `UsageSkipped` for that index. The oracle applies a
    /// batch in one call and, when Jobs refuses it, entry by entry; the recorded logs keep the events of the
    /// refused attempt (forge records reverted frames too), so the entries match the last events, one each.
    function _settle(uint256 batchId, Vm.Log[] memory logs) private {
        ComputeTypes.Usage[] storage entries = _entries[batchId];
        uint256 pending;
        for (uint256 i; i < entries.length; ++i) {
            if (fateOf[batchId][i] == Fate.Pending) ++pending;
        }
        uint256 events = _usageLogCount(logs);
        if (events < pending) {
            _check(false, "finalize: an entry was neither applied nor skipped (silently dropped)");
            return;
        }
        uint256 cursor = _skipUsageLogs(logs, events - pending);
        for (uint256 i; i < entries.length; ++i) {
            if (fateOf[batchId][i] != Fate.Pending) continue;
            bool skipped;
            (cursor, skipped) = _nextUsageLog(logs, cursor);
            ComputeTypes.Usage memory entry = entries[i];
            if (skipped) _skipped(batchId, i, entry, logs[cursor]);
            else _applied(entry, logs[cursor]);
            fateOf[batchId][i] = skipped ? Fate.Skipped : Fate.Applied;
            ++cursor;
        }
    }

    function _usageLogCount(Vm.Log[] memory logs) private view returns (uint256 count) {
        (uint256 at,) = _nextUsageLog(logs, 0);
        while (at != type(uint256).max) {
            ++count;
            (at,) = _nextUsageLog(logs, at + 1);
        }
    }

    /// @dev The log index just after the first `count` usage events.
    function _skipUsageLogs(Vm.Log[] memory logs, uint256 count) private view returns (uint256 cursor) {
        for (uint256 k; k < count; ++k) {
            (cursor,) = _nextUsageLog(logs, cursor);
            ++cursor;
        }
    }

    /// @dev An applied entry: billed at most the job's remaining credits, the rest unbilled, and the job's total
    /// is the sum of what was billed to it.
    function _applied(ComputeTypes.Usage memory entry, Vm.Log memory log) private {
        _check(uint256(log.topics[1]) == entry.jobId, "usage applied to another job than its entry's");
        (uint256 applied, uint256 unbilled, uint256 used,) = abi.decode(log.data, (uint256, uint256, uint256, uint256));
        _check(applied + unbilled == entry.gpuSeconds, "usage applied: applied + unbilled is not the entry");
        _bill(entry.jobId, entry.gpuSeconds, applied, unbilled, used);
        Ledger storage l = _ledgers[entry.jobId];
        l.pending -= entry.gpuSeconds;
        _total.pending -= entry.gpuSeconds;
    }

    function _bill(uint256 jobId, uint256 secs, uint256 applied, uint256 unbilled, uint256 used) private {
        Ledger storage l = _ledgers[jobId];
        uint256 maxSeconds = jobs.jobOf(jobId).maxSeconds;
        _check(l.applied <= maxSeconds, "usage: billed beyond the job's credits");
        uint256 remaining = l.applied <= maxSeconds ? maxSeconds - l.applied : 0;
        _check(applied == (secs < remaining ? secs : remaining), "usage billed other than min(entry, credits left)");
        l.applied += applied;
        l.unbilled += unbilled;
        _total.applied += applied;
        _total.unbilled += unbilled;
        _check(used == l.applied, "usage: the job's used total is not the sum billed to it");
    }

    /// @dev A skipped entry: only for a reason that never changes, and the job indeed cannot take it.
    function _skipped(uint256 batchId, uint256 index, ComputeTypes.Usage memory entry, Vm.Log memory log) private {
        (uint256 loggedIndex, bytes memory reason) = abi.decode(log.data, (uint256, bytes));
        _check(loggedIndex == index && uint256(log.topics[1]) == batchId, "usage skipped: another entry than expected");
        bytes4 why = _selector(reason);
        if (why == IJobs.JobsUnknownJob.selector) {
            ++skippedUnknown;
            _check(entry.jobId > jobs.jobCount(), "usage skipped as unknown for a known job");
        } else if (why == IJobs.JobsInvalidStatus.selector || why == IJobs.JobsUsageTooLate.selector) {
            why == IJobs.JobsInvalidStatus.selector ? ++skippedStatus : ++skippedLate;
            _check(!_takesUsage(jobs.jobOf(entry.jobId)), "usage skipped for a job that takes it");
        } else {
            _check(false, _because("usage skipped for a reason that may pass", reason));
        }
        Ledger storage l = _ledgers[entry.jobId];
        l.pending -= entry.gpuSeconds;
        l.skipped += entry.gpuSeconds;
        _total.pending -= entry.gpuSeconds;
        _total.skipped += entry.gpuSeconds;
    }

    /// @dev The index of the next usage event (applied or skipped) from `from`, or max when none.
    function _nextUsageLog(Vm.Log[] memory logs, uint256 from) private view returns (uint256, bool skipped) {
        for (uint256 i = from; i < logs.length; ++i) {
            if (logs[i].topics.length == 0) continue;
            if (logs[i].emitter == address(jobs) && logs[i].topics[0] == IJobs.UsageApplied.selector) {
                return (i, false);
            }
            if (logs[i].emitter == address(oracle) && logs[i].topics[0] == IMeteringOracle.UsageSkipped.selector) {
                return (i, true);
            }
        }
        return (type(uint256).max, false);
    }

    /*//////////////////////////////////////////////////////////////////////////
                                   CHALLENGE HELPERS
    //////////////////////////////////////////////////////////////////////////*/

    struct Ruling {
        address challenger;
        uint256 bond;
        uint256 challengerCpt;
        uint256 treasuryCpt;
        uint256 signerBonds;
    }

    function _before(OpenChallenge memory c) private view returns (Ruling memory r) {
        (, r.challenger) = oracle.challengeOf(c.batchId, c.index);
        r.bond = _challengeBond();
        r.challengerCpt = token.balanceOf(r.challenger);
        r.treasuryCpt = token.balanceOf(admin);
        r.signerBonds = _signerBonds();
    }

    /// @dev A challenge ruled (`Voided`) or billed (`Ruled`): the entry leaves `held`; a billed one is charged
    /// from the call's `UsageApplied`, or, when its job was served meanwhile, is unbilled.
    function _closeChallenge(uint256 slot, OpenChallenge memory c, Fate fate, Vm.Log[] memory logs) private {
        ComputeTypes.Usage memory entry = _entries[c.batchId][c.index];
        fateOf[c.batchId][c.index] = fate;
        _open[slot] = _open[_open.length - 1];
        _open.pop();
        --ghostHolds[entry.jobId];
        ghostOpenBonds -= _challengeBond();
        Ledger storage l = _ledgers[entry.jobId];
        l.held -= entry.gpuSeconds;
        _total.held -= entry.gpuSeconds;
        (uint256 at, bool skipped) = _nextUsageLog(logs, 0);
        _check(!skipped, "a ruling skipped usage");
        if (fate == Fate.Voided) {
            _check(at == type(uint256).max, "an upheld challenge billed its entry");
            l.voided += entry.gpuSeconds;
            _total.voided += entry.gpuSeconds;
        } else if (at == type(uint256).max) {
            _check(jobs.jobOf(entry.jobId).status == ComputeTypes.JobStatus.Served, "a ruled entry was not billed");
            l.unbilled += entry.gpuSeconds;
            _total.unbilled += entry.gpuSeconds;
        } else {
            // Billed as an applied entry is (which takes it from pending: it was held until now).
            l.pending += entry.gpuSeconds;
            _total.pending += entry.gpuSeconds;
            _applied(entry, logs[at]);
        }
        _check(jobs.holdsOf(entry.jobId) == ghostHolds[entry.jobId], "ruling: the job's holds differ");
    }

    /// @dev Moves an entry's seconds from pending to held (`toHeld`) or back.
    function _move(ComputeTypes.Usage memory entry, bool toHeld) private {
        Ledger storage l = _ledgers[entry.jobId];
        if (toHeld) {
            l.pending -= entry.gpuSeconds;
            l.held += entry.gpuSeconds;
            _total.pending -= entry.gpuSeconds;
            _total.held += entry.gpuSeconds;
        }
    }

    /// @dev A pending entry of a batch still in its challenge period, preferring one whose job can be held.
    function _challengeable(uint256 batchSeed, uint256 indexSeed) private view returns (uint256, uint256) {
        uint256 n = batchIds.length;
        uint256 fallbackBatch;
        uint256 fallbackIndex;
        for (uint256 i; i < n; ++i) {
            uint256 batchId = batchIds[(batchSeed + i) % n];
            if (!_inChallengePeriod(batchId) && batchSeed % 8 != 0) continue;
            (bool found, uint256 index, bool holdable) = _pendingEntry(batchId, indexSeed);
            if (!found) continue;
            if (holdable || indexSeed % 8 == 0) return (batchId, index);
            if (fallbackBatch == 0) (fallbackBatch, fallbackIndex) = (batchId, index);
        }
        if (fallbackBatch == 0) revert HandlerNothingToDo("no challengeable entry");
        return (fallbackBatch, fallbackIndex);
    }

    function _inChallengePeriod(uint256 batchId) private view returns (bool) {
        (uint40 finalAt,,,) = oracle.batchOf(batchId);
        return !ghostFinalized[batchId] && block.timestamp < finalAt;
    }

    /// @dev A pending entry of a known job in `batchId`, searched from `seed`, preferring one whose job can be held.
    function _pendingEntry(uint256 batchId, uint256 seed)
        private
        view
        returns (bool found, uint256 index, bool holdable)
    {
        if (ghostFinalized[batchId]) return (false, 0, false);
        ComputeTypes.Usage[] storage entries = _entries[batchId];
        uint256 m = entries.length;
        for (uint256 j; j < m; ++j) {
            uint256 at = (seed + j) % m;
            uint256 jobId = entries[at].jobId;
            if (fateOf[batchId][at] != Fate.Pending || jobId > jobs.jobCount()) continue;
            ComputeTypes.JobStatus status = jobs.jobOf(jobId).status;
            bool canHold = status == ComputeTypes.JobStatus.Acknowledged || status == ComputeTypes.JobStatus.Closing;
            if (canHold) return (true, at, true);
            if (!found) (found, index) = (true, at);
        }
    }

    function _openChallenge(uint256 seed) private view returns (uint256 slot, OpenChallenge memory c) {
        if (_open.length == 0) revert HandlerNothingToDo("no open challenge");
        slot = seed % _open.length;
        c = _open[slot];
    }

    function _pendingBatch(uint256 seed) private view returns (uint256) {
        uint256 n = batchIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 batchId = batchIds[(seed + i) % n];
            if (!ghostFinalized[batchId]) return batchId;
        }
        revert HandlerNothingToDo("no batch to finalise");
    }

    function _challengeBond() private view returns (uint256 bond) {
        (, bytes memory out) = address(oracle).staticcall(abi.encodeWithSignature("bonds()"));
        (bond,,) = abi.decode(out, (uint256, uint256, uint256));
    }

    function _signerBonds() private view returns (uint256 sum) {
        for (uint256 i; i < _signerKeys.length; ++i) {
            sum += oracle.bondOf(vm.addr(_signerKeys[i]));
        }
    }
}
