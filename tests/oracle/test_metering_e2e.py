"""End to end on anvil: a job on a simulated GPU, metered by the real daemon, burns exactly the
metered credits; a daemon killed (SIGKILL) before or after sending resumes without losing or
double counting usage."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from compute_world import World
from metering_world import oracle_of
from waiting import wait_for

from gpubarter.chain.accounts import dev_account
from gpubarter.deploy_plan import WAD
from gpubarter.deployment_record import save_deployment
from oracle.meter_store import MeterStore
from oracle.reports import gpu_id

ROOT = Path(__file__).resolve().parents[2]
PERIOD_S = 60


@pytest.fixture
def env(world: World, chain, cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    save_deployment(world.deployment, Path(cli_env["GPUBARTER_DEPLOYMENTS_DIR"]))
    return {**cli_env, "GPUBARTER_LOCAL_RPC_URL": chain.url}


def _oracle(env: dict[str, str], db: Path, command: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "oracle", command, "--db", str(db), *args], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=db.with_suffix(".log").open("a"))


def _daemon(env: dict[str, str], db: Path, *extra: str) -> subprocess.Popen[bytes]:
    return _oracle(env, db, "run", "--backend", "simulated", "--sim-gpus", "1", "--interval", "0.2",
                   "--report-every", "1", "--no-metrics", "--submit", *extra)


def _rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _metered_ms(db: Path, job: int) -> int:
    return _rows(db, f"SELECT allocated_ms FROM counters WHERE job_id='{job}'")[0][0]


def _metered_so_far(db: Path, job: int) -> int:
    """The job's metered GPU-ms while the daemon runs: 0 until it made its tables and counted the job."""
    try:
        rows = _rows(db, f"SELECT allocated_ms FROM counters WHERE job_id='{job}'") if db.exists() else []
    except sqlite3.OperationalError:  # the schema is being created
        return 0
    return rows[0][0] if rows else 0


def _end_job(db: Path) -> None:
    """SIGTERM the command ``run-job`` launched (it runs until then): the job ends, run-job exits."""
    os.kill(_rows(db, "SELECT pid FROM job_processes WHERE source='launched'")[0][0], signal.SIGTERM)


def _onchain(world: World, job: int, uuid: str) -> tuple[int, int, int]:
    oracle = oracle_of(world)
    return (oracle.functions.cumulativeMs(job, gpu_id(uuid)).call(), world.holder.job(job).used_seconds,
            world.holder.series(world.series_id).burned)


def _uuid(db: Path, job: int) -> str:
    return _rows(db, f"SELECT gpu_uuid FROM counters WHERE job_id='{job}'")[0][0]


@pytest.mark.slow
def test_daemon_meters_a_job_and_burns_exactly_the_metered_credits(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    job = world.acked_job(3_600)
    burned_before = world.holder.series(world.series_id).burned
    db = tmp_path / "meter.sqlite"
    daemon = _daemon(env, db)
    run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "600")
    try:
        # The job runs until 3 s of it are metered; SIGTERM then makes the daemon report and send the rest.
        wait_for("3 s of the job metered", lambda: _metered_so_far(db, job) >= 3_000)
        _end_job(db)
        run_job.wait(timeout=60)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
    finally:
        for p in (daemon, run_job):
            if p.poll() is None:
                p.kill()
    ms = _metered_ms(db, job)
    assert ms >= 3_000
    assert [s for (s,) in _rows(db, "SELECT state FROM batches")] and not _rows(
        db, "SELECT id FROM batches WHERE state != 'confirmed'")
    cumulative, used, burned = _onchain(world, job, _uuid(db, job))
    assert (cumulative, used, burned - burned_before) == (ms, ms // 1000, ms // 1000)


def _registered(db: Path) -> bool:
    try:
        return bool(db.exists() and _rows(db, "SELECT 1 FROM job_processes"))
    except sqlite3.OperationalError:  # the schema is being created
        return False


def _states(db: Path) -> list[str]:
    return [s for (s,) in _rows(db, "SELECT state FROM batches ORDER BY id")]


def _killed_at(env: dict[str, str], db: Path, fault: str) -> None:
    """Run the daemon until it SIGKILLs itself at fault point ``fault`` (oracle/faults.py)."""
    proc = _daemon({**env, "GPUBARTER_ORACLE_FAULT": fault}, db)
    try:
        assert proc.wait(timeout=60) == -signal.SIGKILL, db.with_suffix(".log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_sigkill_at_each_step_of_sending_loses_nothing_and_counts_nothing_twice(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    job = world.acked_job(3_600)
    db = tmp_path / "meter.sqlite"
    run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "600")
    try:
        # (a) Between persisting and submitting: batch 1 is signed and committed, never sent.
        wait_for("the job registered", lambda: _registered(db))
        _killed_at(env, db, "persisted")
        assert _states(db)[0] == "signed"
        store = MeterStore(db)
        first = store.batch(1)
        store.close()
        uuid = first.reports[0].gpu_uuid
        assert _onchain(world, job, uuid)[0] == 0
        # (b) Between submitting and confirming: the transaction is mined, the meter records nothing.
        _killed_at(env, db, "sent")
        assert _states(db)[0] == "signed"
        assert _onchain(world, job, uuid)[0] == first.reports[0].allocated_ms
        # Recorded submitted, killed before confirmed: batch 1 went again (the chain skipped it).
        _killed_at(env, db, "submitted")
        assert _states(db)[0] == "submitted"
        assert _onchain(world, job, uuid)[0] == first.reports[0].allocated_ms
        # More usage, signed only (a meter that cannot submit), while the job still runs.
        signed_before = len(_states(db))
        signing_only = _daemon(env, db, "--no-submit")
        try:
            wait_for("a batch signed, not sent", lambda: len(_states(db)) > signed_before)
            signing_only.send_signal(signal.SIGTERM)
            assert signing_only.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
        finally:
            if signing_only.poll() is None:
                signing_only.kill()
        assert _states(db)[signed_before:] and set(_states(db)[signed_before:]) == {"signed"}
        _end_job(db)
        run_job.wait(timeout=60)
    finally:
        if run_job.poll() is None:
            run_job.kill()
    # Recorded as sent, but the chain never saw that transaction: queued again at restart.
    store = MeterStore(db)
    try:
        store.mark_submitted(store.batches("signed")[-1].id, "0x" + "ab" * 32)
    finally:
        store.close()
    # A clean restart confirms, resends and reports the rest; the chain counts each ms exactly once.
    restarted = _daemon(env, db, "--duration", "2")
    assert restarted.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
    assert set(_states(db)) == {"confirmed"}
    assert '"event":"batch queued again"' in db.with_suffix(".log").read_text()
    ms = _metered_ms(db, job)
    cumulative, used, _burned = _onchain(world, job, uuid)
    assert (cumulative, used) == (ms, ms // 1000)
    assert ms > first.reports[0].allocated_ms  # metered across several daemons


@pytest.mark.slow
def test_with_a_challenge_period_credits_burn_only_after_the_daemon_finalises(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    oracle = oracle_of(world)
    world.gov.sender.transact(oracle.functions.setChallengeParams(PERIOD_S, WAD, 0, 0))
    job = world.acked_job(3_600)
    burned_before = world.holder.series(world.series_id).burned
    db = tmp_path / "meter.sqlite"
    daemon = _daemon(env, db)
    run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "3")
    try:
        assert run_job.wait(timeout=60) == 0
        uuid = wait_for("the job metered", lambda: _rows(db, "SELECT gpu_uuid FROM counters"))[0][0]
        wait_for("every ms of the job accepted on-chain",
                 lambda: _onchain(world, job, uuid)[0] == _metered_ms(db, job), timeout=30)
        ms = _metered_ms(db, job)
        assert _onchain(world, job, uuid)[1:] == (0, burned_before)  # pending: nothing burned yet
        world.travel(PERIOD_S)
        wait_for("the daemon finalising", lambda: _onchain(world, job, uuid)[1] == ms // 1000, timeout=30)
        assert world.holder.series(world.series_id).burned - burned_before == ms // 1000
        # The daemon records a batch final once it has the receipt: a moment after the chain shows it.
        wait_for("the daemon recording every batch final",
                 lambda: _rows(db, "SELECT COUNT(*) FROM finalizations WHERE state='pending'") == [(0,)],
                 timeout=30)
        assert _rows(db, "SELECT COUNT(*) FROM finalizations WHERE state='final'")[0][0] >= 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0, db.with_suffix(".log").read_text()
        if run_job.poll() is None:
            run_job.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(urllib.request.Request(url + "/v1/cosign", b"{}"), timeout=1)
    except urllib.error.HTTPError:
        return True  # it answered (refusing an empty request)
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_two_of_three_daemon_gathers_signatures_from_cosign_nodes(
    world: World, env: dict[str, str], tmp_path: Path
) -> None:
    peers = (7, 8)
    members = sorted([world.gov.sender.address, *(dev_account(i).address for i in peers)],
                     key=lambda a: int(a, 16))
    world.gov.sender.transact(oracle_of(world).functions.setSigners(members, 2))
    job = world.acked_job(3_600)
    db = tmp_path / "meter.sqlite"
    nodes, urls = [], []
    try:
        for i in peers:
            port = _free_port()
            urls.append(f"http://127.0.0.1:{port}")
            key_env = {**env, "GPUBARTER_PRIVATE_KEY": "0x" + dev_account(i).key.hex()}
            nodes.append(_oracle(key_env, tmp_path / f"cosign-{i}.sqlite", "cosign", "--port", str(port)))
        for url in urls:
            wait_for(f"the co-signer on {url}", lambda url=url: _answers(url), timeout=60)
        daemon = _daemon(env, db, *(a for u in urls for a in ("--peer", u)))
        run_job = _oracle(env, db, "run-job", str(job), "--gpus", "0", "--", "sleep", "600")
        nodes += [daemon, run_job]
        wait_for("2 s of the job metered", lambda: _metered_so_far(db, job) >= 2_000)
        _end_job(db)
        run_job.wait(timeout=60)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0, db.with_suffix(".log").read_text()
    finally:
        for p in nodes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    assert set(_states(db)) == {"confirmed"}
    ms = _metered_ms(db, job)
    assert _onchain(world, job, _uuid(db, job))[:2] == (ms, ms // 1000)
    # Every batch carried a co-signature of the first peer (the threshold needed one more than ours).
    assert _rows(db, "SELECT COUNT(DISTINCT batch_id), COUNT(DISTINCT signer) FROM cosignatures") == [
        (len(_states(db)), 1)]
    signed = _rows(tmp_path / f"cosign-{peers[0]}.sqlite", "SELECT allocated_ms FROM signed_reports")
    assert signed == [(ms,)]
    log = "".join(p.read_text() for p in tmp_path.glob("cosign-*.log"))
    assert dev_account(peers[0]).key.hex() not in log and "co-signer started" in log
