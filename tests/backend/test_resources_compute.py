"""Compute-side resources through HTTP against the live service (sqlite and PostgreSQL): providers,
classes, series, balances, jobs and usage follow real transactions; filters, pages, bad input."""

from __future__ import annotations

from compute_world import SPEC, STAKE, World
from metering_world import report, submit
from resources_api import all_pages, problem, shown

from gpubarter.deploy_plan import DEFAULT_GPU_CLASSES


def chain_view(w: World, series_id: int) -> dict[str, str]:
    s = w.provider.series(series_id)
    return {"minted": str(s.minted), "burned": str(s.burned), "delivered": str(s.delivered)}


def test_providers_classes_and_series_match_the_chain(world: World, client):
    provider = world.provider.sender.address
    found = shown(client, "/api/v1/series", lambda items: len(items) == 1)
    assert found[0]["series_id"] == world.series_id
    chain = world.provider.provider()
    assert client.get(f"/api/v1/providers/{provider.lower()}").json() == {
        "address": provider, "metadata_cid": "bafkreiprovidermetadata", "stake": str(chain.stake),
        "locked": str(chain.locked), "unbonding": "0", "unbonding_end": 0, "slashed": "0",
        "registered_block": client.get(f"/api/v1/providers/{provider}").json()["registered_block"],
        "status": "staked"}
    assert chain.stake == STAKE and chain.locked > 0
    staked = all_pages(client, "/api/v1/providers", status="staked")
    assert [p["address"] for p in staked] == [provider, world.provider2.sender.address]
    assert all_pages(client, "/api/v1/providers", status="registered") == []
    world.provider2.request_unstake(STAKE)  # all of it: provider2 backs no credits
    unbonding = shown(client, "/api/v1/providers", lambda items: len(items) == 1, status="unbonding")
    assert unbonding[0]["address"] == world.provider2.sender.address
    assert (unbonding[0]["stake"], unbonding[0]["unbonding"]) == ("0", str(STAKE))

    classes = all_pages(client, "/api/v1/classes")
    assert [(c["class_id"], c["name"], c["collateral_rate"]) for c in classes] == [
        (c.class_id, c.name, str(c.collateral_rate)) for c in DEFAULT_GPU_CLASSES]
    assert client.get("/api/v1/classes/2").json()["name"] == "nvidia-a100-80gb"

    series = client.get(f"/api/v1/series/{world.series_id}").json()
    assert series["provider"] == provider and series["class_id"] == 1 and series["backing"] == "stake"
    assert (series["window_start"], series["deal_id"], series["frozen"]) == (world.start, None, False)
    assert {k: series[k] for k in ("minted", "burned", "delivered")} == chain_view(world, world.series_id)
    assert isinstance(series["collateral_rate"], str)  # uint256 as a decimal string


def test_jobs_usage_and_balances_follow_transactions(world: World, client):
    holder, other = world.holder.sender.address, world.other.sender.address
    world.holder.transfer(world.series_id, other, 1_000)
    job = world.acked_job(3_600)
    world.meter.apply_usage(job, 600)  # applied directly by a metering account
    submit(world, [report(world, job, 2_500)], [world.gov.sender])  # an oracle report: 2 GPU-seconds
    world.holder.close(job)

    onchain = world.holder.job(job)
    status = onchain.status.name.lower()  # closing: usage may still settle within the grace period
    jobs = shown(client, "/api/v1/jobs", lambda items: items and items[0]["status"] == status, holder=holder)
    assert len(jobs) == 1 and jobs[0]["job_id"] == job and status == "closing"
    assert jobs[0]["used_seconds"] == str(onchain.used_seconds) == "602"
    assert (jobs[0]["provider"], jobs[0]["spec_cid"], jobs[0]["max_seconds"]) == (
        world.provider.sender.address, SPEC, "3600")
    assert client.get(f"/api/v1/jobs/{job}").json() == jobs[0]
    assert all_pages(client, "/api/v1/jobs", series=world.series_id, status="opened") == []

    usage = all_pages(client, "/api/v1/usage", job=job)
    assert [(u["gpu_id"] is None, u["applied_seconds"], u["status"]) for u in usage] == [
        (True, "600", "applied"), (False, "2", "applied")]
    oracle_row = usage[1]
    assert oracle_row["batch_id"] == 1 and oracle_row["entry_index"] == 0
    assert oracle_row["allocated_gpu_ms"] == "2500" and oracle_row["series_id"] == world.series_id
    gpu = "0x" + oracle_row["gpu_id"][2:].upper()  # any letter case
    assert all_pages(client, "/api/v1/usage", gpu=gpu) == [oracle_row]
    assert client.get(f"/api/v1/usage/{oracle_row['id']}").json() == oracle_row

    series = client.get(f"/api/v1/series/{world.series_id}").json()
    assert {k: series[k] for k in ("minted", "burned", "delivered")} == chain_view(world, world.series_id)
    assert series["delivered"] == "602"
    listed = all_pages(client, "/api/v1/balances", series=world.series_id)
    balances = {b["holder"]: b["amount"] for b in listed}
    jobs_contract = world.deployment.address("Jobs")  # holds the credits of open and closing jobs
    assert balances == {who: str(world.holder.credit_balance(world.series_id, who))
                        for who in (holder, other, jobs_contract)}
    assert balances[jobs_contract] != "0"
    assert all_pages(client, "/api/v1/balances", holder=other.lower()) == [
        {"holder": other, "series_id": world.series_id, "amount": "1000"}]


def test_series_filters_and_pages(world: World, client):
    p2 = world.provider2
    made = [p2.create_series(cls, world.start, world.start + 86_400).value for cls in (2, 2, 3)]
    everything = shown(client, "/api/v1/series", lambda items: len(items) == 4, limit=1)
    assert [s["series_id"] for s in everything] == [world.series_id, *made]  # oldest first, across 4 pages
    assert [s["series_id"] for s in all_pages(client, "/api/v1/series", class_id=2)] == made[:2]
    assert [s["series_id"] for s in all_pages(client, "/api/v1/series", provider=p2.sender.address.lower(),
                                              class_id=3)] == made[2:]
    active = all_pages(client, "/api/v1/series", active=True)
    assert [s["series_id"] for s in active] == [world.series_id, *made]
    assert all_pages(client, "/api/v1/series", active=False) == []
    assert all_pages(client, "/api/v1/series", backing="deal") == []


BAD = [
    ("/api/v1/providers/0x0000000000000000000000000000000000000001", 404, "not-found"),
    ("/api/v1/providers/0x12", 422, "invalid-request"),
    ("/api/v1/providers?status=sleeping", 422, "invalid-request"),
    ("/api/v1/providers?status=unstaked", 422, "invalid-request"),
    ("/api/v1/classes/99", 404, "not-found"),
    ("/api/v1/classes/70000", 422, "invalid-request"),
    ("/api/v1/series/424242", 404, "not-found"),
    ("/api/v1/series/-1", 422, "invalid-request"),
    ("/api/v1/series/99999999999999999999999", 422, "invalid-request"),
    ("/api/v1/series?class_id=abc", 422, "invalid-request"),
    ("/api/v1/series?provider=0xnothex", 422, "invalid-request"),
    ("/api/v1/series?active=maybe", 422, "invalid-request"),
    ("/api/v1/series?cursor=not-a-cursor", 400, "invalid-cursor"),
    ("/api/v1/series?limit=0", 422, "invalid-request"),
    ("/api/v1/balances?holder=alice", 422, "invalid-request"),
    ("/api/v1/jobs/77", 404, "not-found"),
    ("/api/v1/jobs?status=running", 422, "invalid-request"),
    ("/api/v1/usage/1", 404, "not-found"),
    ("/api/v1/usage?gpu=0x12", 422, "invalid-request"),
    ("/api/v1/usage?job=-3", 422, "invalid-request"),
]


def test_bad_queries_and_unknown_ids_are_problems(client):
    for path, status, code in BAD:  # one live service per database for all of them
        problem(client, path, status, code)
