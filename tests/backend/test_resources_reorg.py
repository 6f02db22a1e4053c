"""Resource projections stay in step with the event log: applied with each event in the follower's
transaction, and rebuilt from ``events`` after a reorg (evm_revert branch switch and anvil_reorg)."""

from __future__ import annotations

from compute_world import MINTED, World
from sqlalchemy import select

from backend.db.resources import BalanceRow, JobRow, SeriesRow
from backend.indexer.follower import Follower
from backend.indexer.projections import ResourceProjector


def follower_of(w: World, sessions) -> Follower:
    return Follower(w.w3, w.deployment, sessions, projectors=(ResourceProjector(),))


def balances(sessions, series_id: int) -> dict[str, int]:
    with sessions() as s:
        rows = s.scalars(select(BalanceRow).where(BalanceRow.series_id == series_id))
        return {r.holder: int(r.amount) for r in rows}


def job_ids(sessions) -> list[int]:
    with sessions() as s:
        return list(s.scalars(select(JobRow.job_id)))


def minted(sessions, series_id: int) -> int:
    with sessions() as s:
        return int(s.scalar(select(SeriesRow.minted).where(SeriesRow.series_id == series_id)))


def test_branch_switch_rebuilds_the_resources(world: World, sessions, accounts):
    follower = follower_of(world, sessions)
    follower.catch_up()
    holder, other, late = world.holder.sender.address, world.other.sender.address, accounts[7].address
    assert balances(sessions, world.series_id) == {holder: MINTED}
    fork_point = world.w3.provider.make_request("evm_snapshot", [])["result"]
    world.holder.transfer(world.series_id, other, 1_000)  # on the branch that will vanish
    job = world.open_job(600)
    follower.catch_up()
    assert balances(sessions, world.series_id)[other] == 1_000 and job_ids(sessions) == [job]

    world.w3.provider.make_request("evm_revert", [fork_point])
    for sender in accounts:
        sender.reset_nonce()
    world.holder.transfer(world.series_id, late, 7)  # the new branch
    world.w3.provider.make_request("anvil_mine", [3])
    assert follower.step().rewound_to is not None
    follower.catch_up()
    assert balances(sessions, world.series_id) == {holder: MINTED - 7, late: 7}
    assert job_ids(sessions) == [] and minted(sessions, world.series_id) == MINTED


def test_anvil_reorg_drops_the_orphaned_resources(world: World, sessions):
    follower = follower_of(world, sessions)
    world.holder.transfer(world.series_id, world.other.sender.address, 250)
    world.w3.provider.make_request("anvil_mine", [2])
    follower.catch_up()
    assert balances(sessions, world.series_id)[world.other.sender.address] == 250
    world.w3.provider.make_request("anvil_reorg", [3, []])  # the transfer's block is replaced by empty ones
    follower.catch_up()
    assert balances(sessions, world.series_id) == {world.holder.sender.address: MINTED}


def test_an_index_from_before_the_projections_is_projected_on_start(world: World, sessions):
    Follower(world.w3, world.deployment, sessions).catch_up()  # events only, as an older version stored them
    assert balances(sessions, world.series_id) == {}
    follower = follower_of(world, sessions)
    assert follower.catch_up() == 0  # nothing new on the chain, yet the resources appear
    assert balances(sessions, world.series_id) == {world.holder.sender.address: MINTED}
    world.holder.transfer(world.series_id, world.other.sender.address, 5)
    follower_of(world, sessions).catch_up()  # a restart, same projector version: no rebuild, just apply
    assert balances(sessions, world.series_id)[world.other.sender.address] == 5
