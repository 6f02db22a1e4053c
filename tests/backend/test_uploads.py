"""``POST /api/v1/uploads`` through HTTP against the live service on both databases: a
dataset streams into the vault, keys land only in the owner's 0600 key store, a
cooperative admin uploads for the cooperative, and every refusal leaves nothing behind."""

from __future__ import annotations

import json
import stat

import httpx
import pytest
from api_session import bearer
from eth_account import Account
from eth_utils import keccak
from upload_world import (
    CSV,
    UPLOAD_LIMIT,
    client,
    coop,
    live,
    open_service,
    rows,
    upload,
    user,
    vault,
    vault_files,
)

from backend.vault.embedded_store import EmbeddedStore
from backend.vault.manifest import load_manifest
from gpubarter.process import free_port

__all__ = ["client", "coop", "live", "user", "vault"]  # fixtures


def test_upload_seals_csv_and_keeps_keys_only_in_owner_key_store(live, vault, user):
    svc, client = live
    auth = bearer(client, user)
    r = upload(client, CSV.encode(), auth, k=4, name="scores.csv")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["owner"], body["uploaded_by"], body["kind"], body["k"]) == (user.address, user.address,
                                                                            "csv", 4)
    assert body["source_bytes"] == len(CSV) and sum(s["rows"] for s in body["shards"]) == 400
    assert body["sealed_bytes"] == sum(s["ciphertext_bytes"] for s in body["shards"])
    key_file = vault / "keys" / user.address.lower() / f"{body['manifest_cid']}.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = json.loads(key_file.read_text())["keys"]
    assert body["key_commitments"] == ["0x" + keccak(bytes.fromhex(k)).hex() for k in keys]
    assert not any(k in r.text for k in keys)  # the keys never leave the server
    manifest = load_manifest(EmbeddedStore(vault / "store"), body["manifest_cid"])
    assert manifest.merkle_root == body["merkle_root"] and manifest.name == "scores.csv"
    assert not any(k in (vault / "store").joinpath("objects", body["manifest_cid"]).read_text()
                   for k in keys)
    assert rows(svc) == {"uploads": 1, "appraisals": 0}
    assert not list((vault / "spool").iterdir())  # the spooled body is gone


def test_upload_streams_a_chunked_body(client, vault, user):
    chunks = (CSV.encode()[i:i + 1000] for i in range(0, len(CSV), 1000))
    r = upload(client, chunks, bearer(client, user), k=2, format="csv")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "upload.csv" and r.json()["source_bytes"] == len(CSV)


def test_cooperative_admin_uploads_for_the_cooperative(client, vault, user, coop):
    r = upload(client, CSV.encode(), bearer(client, user), k=2, name="coop.csv", owner=coop)
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == coop and r.json()["uploaded_by"] == user.address
    assert (vault / "keys" / coop.lower() / f"{r.json()['manifest_cid']}.json").is_file()
    assert not (vault / "keys" / user.address.lower()).exists()


@pytest.mark.parametrize(("case", "status", "code"), [
    ("not signed in", 401, "unauthenticated"),
    ("not admin of that coop", 403, "not-cooperative-admin"),
    ("owner is not a cooperative", 403, "not-cooperative-admin"),
    ("empty body", 400, "empty-upload"),
    ("declared body over the limit", 413, "upload-too-large"),
    ("streamed body over the limit", 413, "upload-too-large"),
    ("K larger than the data", 422, "k-too-large"),
    ("K zero", 422, "invalid-request"),
    ("unknown format", 422, "invalid-request"),
    ("data not in the format", 422, "bad-dataset"),
    ("bad owner address", 422, "invalid-request"),
    ("name is a path", 422, "invalid-request"),
    ("name is ..", 422, "invalid-request"),
])
def test_refusals_leave_nothing_behind(live, vault, user, coop, case, status, code):
    svc, client = live
    auth = bearer(client, user)
    other = bearer(client, Account.create())
    big = b"x" * (UPLOAD_LIMIT + 1)
    before = vault_files(vault)
    r = {
        "not signed in": lambda: upload(client, CSV.encode(), k=2),
        "not admin of that coop": lambda: upload(client, CSV.encode(), other, k=2, owner=coop),
        "owner is not a cooperative": lambda: upload(client, CSV.encode(), auth, k=2,
                                                     owner=Account.create().address),
        "empty body": lambda: upload(client, b"", auth, k=1),
        "declared body over the limit": lambda: upload(client, big, auth, k=1),
        "streamed body over the limit": lambda: upload(
            client, (big[i:i + 65536] for i in range(0, len(big), 65536)), auth, k=1),
        "K larger than the data": lambda: upload(client, b"id\n1\n2\n", auth, k=3, format="csv"),
        "K zero": lambda: upload(client, CSV.encode(), auth, k=0),
        "unknown format": lambda: upload(client, CSV.encode(), auth, k=1, format="xml"),
        "data not in the format": lambda: upload(client, b"not json\n{}\n", auth, k=1, format="jsonl"),
        "bad owner address": lambda: upload(client, CSV.encode(), auth, k=1, owner="0x1234"),
        "name is a path": lambda: upload(client, CSV.encode(), auth, k=1, name="../../etc/x.csv"),
        "name is ..": lambda: upload(client, CSV.encode(), auth, k=1, name=".."),
    }[case]()
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert vault_files(vault) == before
    assert rows(svc) == {"uploads": 0, "appraisals": 0}


@pytest.mark.parametrize(("api", "message"), [
    (None, "cannot reach an IPFS node"),
    ("not an address", "is not an IPFS API address"),
])
def test_ipfs_down_is_refused_and_writes_no_keys(w3, deployment, database_url, vault, user, api, message):
    with open_service(w3, deployment, database_url, vault,
                      ipfs_api=api or f"http://127.0.0.1:{free_port()}", ipfs_timeout_s=3) as svc, \
            httpx.Client(base_url=svc.url, timeout=30) as client:
        r = upload(client, CSV.encode(), bearer(client, user), k=2, format="csv")
        assert (r.status_code, r.json()["code"]) == (503, "store-unavailable"), r.text
        assert message in r.json()["detail"]
        assert not (vault / "keys").exists()
        assert rows(svc) == {"uploads": 0, "appraisals": 0}
        assert not [p for p in (vault / "spool").rglob("*") if p.is_file()]


def test_upload_into_the_configured_ipfs_node(w3, deployment, database_url, vault, user, ipfs_node):
    from backend.vault.ipfs_store import IpfsStore

    with open_service(w3, deployment, database_url, vault, ipfs_api=ipfs_node.api_url) as svc, \
            httpx.Client(base_url=svc.url, timeout=60) as client:
        auth = bearer(client, user)
        r = upload(client, CSV.encode(), auth, k=2, name="scores.csv")
        assert r.status_code == 201, r.text
        cid = r.json()["manifest_cid"]
        store = IpfsStore(ipfs_node.api_url, timeout_s=30, spool_dir=vault / "check")
        manifest = load_manifest(store, cid)  # the manifest and shards are on the node
        assert all(store.has(s.cid) for s in manifest.shards)
        store.close()
        assert not (vault / "store").exists()  # nothing went to the embedded store
        keys = json.loads((vault / "keys" / user.address.lower() / f"{cid}.json").read_text())["keys"]
        assert not any(k in manifest.to_bytes().decode() for k in keys)
        appraisal = client.post("/api/v1/appraisals", headers=auth,
                                json={"manifest_cid": cid, "gpu_class": "nvidia-h100-80gb"})
        assert appraisal.status_code == 200, appraisal.text
        assert appraisal.json()["report"]["profile"]["rows"] == 400
