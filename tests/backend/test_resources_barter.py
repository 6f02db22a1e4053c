"""Barter-side resources through HTTP against the live service (sqlite and PostgreSQL): cooperatives
(created by the factory, their events indexed too), members, datasets, deals and their steps."""

from __future__ import annotations

from escrow_world import BOND, GPU_SECONDS, KEY_TIMEOUT, SHARES, EscrowWorld, K
from resources_api import all_pages, problem, shown
from sqlalchemy import select

from backend.db.resources import MemberRow
from backend.indexer.follower import Follower
from backend.indexer.projections import ResourceProjector

STEP = GPU_SECONDS // K


def test_cooperative_members_and_dataset(ew: EscrowWorld, client):
    coops = shown(client, "/api/v1/cooperatives", lambda items: len(items) == 1)
    assert coops[0] == {"address": ew.coop, "admin": ew.admin.sender.address, "name": "Riverside Data Co-op",
                        "total_shares": str(sum(SHARES)), "member_count": 3,
                        "created_block": coops[0]["created_block"]}
    members = all_pages(client, f"/api/v1/cooperatives/{ew.coop.lower()}/members")  # two pages of 2
    assert [(m["member"], m["shares"]) for m in members] == [
        (who.sender.address, str(n)) for who, n in zip(ew.members, SHARES, strict=True)]

    ew.admin.set_shares(ew.coop, ew.members[0].sender.address, 0)  # the first member leaves
    ew.admin.set_shares(ew.coop, ew.members[1].sender.address, 5)
    shown(client, f"/api/v1/cooperatives/{ew.coop}/members",
          lambda items: [(m["member"], m["shares"]) for m in items] == [
              (ew.members[1].sender.address, "5"), (ew.members[2].sender.address, "3")])
    coop = client.get(f"/api/v1/cooperatives/{ew.coop}").json()
    assert (coop["total_shares"], coop["member_count"]) == ("8", 2)
    assert all_pages(client, "/api/v1/cooperatives", admin=ew.admin.sender.address) == [coop]
    assert all_pages(client, "/api/v1/cooperatives", admin=ew.other.sender.address) == []

    datasets = all_pages(client, "/api/v1/datasets", owner=ew.coop)
    assert datasets == [client.get(f"/api/v1/datasets/{ew.dataset_id}").json()]
    assert {k: datasets[0][k] for k in ("dataset_id", "owner", "manifest_cid", "step_count", "merkle_root",
                                        "locked_by")} == {
        "dataset_id": ew.dataset_id, "owner": ew.coop, "manifest_cid": "bafkreidatasetmanifest",
        "step_count": K, "merkle_root": "0x" + "01" * 32, "locked_by": None}


def test_deal_lifecycle_and_steps(ew: EscrowWorld, client):
    cancelled = ew.offer()
    ew.admin.cancel_offer(ew.coop, cancelled)
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    ew.other.mark_due(deal_id)
    ew.release(deal_id, 1)

    deals = shown(client, "/api/v1/deals", lambda items: len(items) == 2 and items[1]["released"] == 1,
                  cooperative=ew.coop)
    assert [(d["deal_id"], d["status"]) for d in deals] == [(cancelled, "cancelled"), (deal_id, "accepted")]
    deal = client.get(f"/api/v1/deals/{deal_id}").json()
    assert deal == deals[1]
    assert (deal["provider"], deal["series_id"], deal["steps"], deal["gpu_seconds"], deal["bond"]) == (
        ew.provider.sender.address, series_id, K, str(GPU_SECONDS), str(BOND))
    assert [d["deal_id"] for d in all_pages(client, "/api/v1/deals", status="accepted",
                                            provider=ew.provider.sender.address)] == [deal_id]
    assert all_pages(client, "/api/v1/deals", status="settled") == []
    by_dataset = all_pages(client, "/api/v1/deals", dataset=ew.dataset_id)
    assert [d["deal_id"] for d in by_dataset] == [cancelled, deal_id]

    steps = all_pages(client, f"/api/v1/deals/{deal_id}/steps")
    assert [(s["step"], s["status"]) for s in steps] == [(1, "released"),
                                                         *((k, "pending") for k in range(2, K + 1))]
    assert steps[0]["commitment_c"].startswith("0x") and steps[0]["due_since"] is not None
    assert all_pages(client, f"/api/v1/deals/{cancelled}/steps") == []  # never accepted: no steps

    series = client.get(f"/api/v1/series/{series_id}").json()
    assert (series["backing"], series["deal_id"], series["delivered"]) == ("deal", deal_id, str(STEP))
    assert client.get(f"/api/v1/datasets/{ew.dataset_id}").json()["locked_by"] == ew.escrow.address
    coop_balance = all_pages(client, "/api/v1/balances", holder=ew.coop, series=series_id)
    assert coop_balance == []  # every member claimed its part of the minted credits
    claimed = {b["holder"]: int(b["amount"]) for b in all_pages(client, "/api/v1/balances", series=series_id)}
    for who in ew.members:
        assert claimed.get(who.sender.address, 0) == who.credit_balance(series_id)


def test_key_timeout_faults_the_deal_and_freezes_its_series(ew: EscrowWorld, client):
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    ew.other.mark_due(deal_id)
    ew.travel(KEY_TIMEOUT + 10)
    ew.other.claim_key_timeout(deal_id)
    shown(client, "/api/v1/deals", lambda items: [d["deal_id"] for d in items] == [deal_id],
          status="cooperative-faulted")
    steps = all_pages(client, f"/api/v1/deals/{deal_id}/steps", limit=1)
    assert steps[0]["status"] == "timed-out" and steps[0]["due_since"] is not None
    assert client.get(f"/api/v1/series/{series_id}").json()["frozen"] is True
    assert series_id in [s["series_id"] for s in all_pages(client, "/api/v1/series", active=False)]


def test_a_settled_deal_shows_its_bond_returned_to_the_cooperative(ew: EscrowWorld, client):
    deal_id, series_id = ew.accepted()
    ew.deliver(series_id, STEP)
    sealed = ew.release(deal_id, 1)
    ew.provider.dispute(deal_id, 1, ew.pairs[deal_id], sealed)  # lost: the key was right
    ew.travel_to(ew.settles_at(deal_id))
    ew.other.settle(deal_id)
    deals = shown(client, "/api/v1/deals", lambda items: [d["deal_id"] for d in items] == [deal_id],
                  status="settled")
    assert (deals[0]["to_maker"], deals[0]["to_provider"], deals[0]["released"]) == (str(BOND), "0", 1)
    steps = all_pages(client, f"/api/v1/deals/{deal_id}/steps")
    assert [(s["step"], s["status"], s["provider_won"]) for s in steps] == [
        (1, "disputed", False), *((k, "pending", None) for k in range(2, K + 1))]


def test_unknown_barter_resources_are_404(client):
    for path, status, code in [
        ("/api/v1/cooperatives/0x0000000000000000000000000000000000000009", 404, "not-found"),
        ("/api/v1/cooperatives/0x0000000000000000000000000000000000000009/members", 404, "not-found"),
        ("/api/v1/cooperatives/nope/members", 422, "invalid-request"),
        ("/api/v1/datasets/999", 404, "not-found"),
        ("/api/v1/datasets?owner=0x1", 422, "invalid-request"),
        ("/api/v1/deals/999", 404, "not-found"),
        ("/api/v1/deals/999/steps", 404, "not-found"),
        ("/api/v1/deals?status=pending", 422, "invalid-request"),
        ("/api/v1/deals?dataset=x", 422, "invalid-request"),
    ]:
        problem(client, path, status, code)


def test_a_restarted_indexer_still_follows_known_cooperatives(ew: EscrowWorld, sessions):
    Follower(ew.w3, ew.deployment, sessions, projectors=(ResourceProjector(),)).catch_up()
    ew.admin.set_shares(ew.coop, ew.other.sender.address, 4)
    again = Follower(ew.w3, ew.deployment, sessions, projectors=(ResourceProjector(),))  # a new process
    assert again.catch_up() == 1
    with sessions() as s:
        row = s.scalars(select(MemberRow).where(MemberRow.member == ew.other.sender.address)).one()
        assert (row.cooperative, row.shares) == (ew.coop, "4")
