"""``/api/v1/appraisals`` through HTTP against the live service on both databases: appraise
an uploaded dataset (by manifest CID) or a file sent with the request, get the report
back by its hash, and every refusal stores nothing."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from api_session import bearer
from eth_account import Account
from eth_utils import keccak
from upload_world import CSV, UPLOAD_LIMIT, client, coop, live, rows, upload, user, vault

from backend.valuation import appraisal_hash, appraise, canonical_json, parse_inputs

__all__ = ["client", "coop", "live", "user", "vault"]  # fixtures

GPU = "nvidia-h100-80gb"
UNKNOWN_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
INPUTS = {"pricing": {"price_per_gpu_hour": 2.0}, "cost": {"collection": 1000},
          "dimensional": {"value_per_1k_rows": 50, "timestamp_column": "ts"}, "as_of": "2020-01-01T00:00:00Z"}


def local_report(tmp_path, name: str, data: bytes) -> dict:
    path = tmp_path / "local" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return appraise(path, GPU, parse_inputs(INPUTS))


def appraise_cid(client, auth, cid: str, **overrides):
    return client.post("/api/v1/appraisals", headers=auth,
                       json={"manifest_cid": cid, "gpu_class": GPU, "inputs": INPUTS, **overrides})


def appraise_file(client, auth, data, **params):
    params = {"gpu_class": GPU, "format": "csv", "inputs": json.dumps(INPUTS), **params}
    return client.post("/api/v1/appraisals/file", params=params, content=data, headers=auth)


def test_appraise_upload_by_cid_gives_the_report_of_the_original_file(live, user, tmp_path):
    svc, client = live
    auth = bearer(client, user)
    cid = upload(client, CSV.encode(), auth, k=4, name="scores.csv").json()["manifest_cid"]
    r = appraise_cid(client, auth, cid)
    assert r.status_code == 200, r.text
    body = r.json()
    expected = local_report(tmp_path, "scores.csv", CSV.encode())
    assert body["appraisal_hash"] == appraisal_hash(expected)  # shards restored byte for byte
    assert body["manifest_cid"] == cid and body["report"]["profile"]["rows"] == 400
    assert body["report"]["result"]["gpu_hours"]["mid"] > 0
    got = client.get(f"/api/v1/appraisals/{body['appraisal_hash']}")  # public: no sign-in
    assert got.status_code == 200 and got.json() == body
    assert "0x" + keccak(canonical_json(got.json()["report"])).hex() == body["appraisal_hash"]
    assert rows(svc) == {"uploads": 1, "appraisals": 1}
    assert appraise_cid(client, auth, cid).json()["appraisal_hash"] == body["appraisal_hash"]
    assert rows(svc)["appraisals"] == 1  # content-addressed: the same report is one row


def test_appraise_parquet_upload_profiles_its_shards_as_a_folder(client, user):
    auth = bearer(client, user)
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(100)), "y": ["a", None] * 50}), buf, row_group_size=25)
    cid = upload(client, buf.getvalue(), auth, k=2, name="t.parquet").json()["manifest_cid"]
    r = appraise_cid(client, auth, cid, inputs={})
    assert r.status_code == 200, r.text
    profile = r.json()["report"]["profile"]
    assert (profile["rows"], profile["null_cells"]) == (100, 50)
    assert [f["name"] for f in profile["files"]] == ["part-00000.parquet", "part-00001.parquet"]


def test_cooperative_admin_appraises_the_cooperative_upload(client, user, coop):
    auth = bearer(client, user)
    cid = upload(client, CSV.encode(), auth, k=2, name="c.csv", owner=coop).json()["manifest_cid"]
    assert appraise_cid(client, auth, cid).status_code == 200
    r = appraise_cid(client, bearer(client, Account.create()), cid)
    assert (r.status_code, r.json()["code"]) == (403, "not-cooperative-admin")


def test_appraise_file_sent_with_the_request(live, user, tmp_path):
    svc, client = live
    r = appraise_file(client, bearer(client, user), CSV.encode(), name="scores.csv")
    assert r.status_code == 200, r.text
    assert r.json()["appraisal_hash"] == appraisal_hash(local_report(tmp_path, "scores.csv", CSV.encode()))
    assert r.json()["manifest_cid"] is None
    assert rows(svc) == {"uploads": 0, "appraisals": 1}


@pytest.mark.parametrize(("case", "status", "code"), [
    ("not signed in", 401, "unauthenticated"),
    ("not the owner", 403, "not-cooperative-admin"),
    ("unknown manifest", 404, "upload-not-found"),
    ("bad inputs", 422, "invalid-inputs"),
    ("bad GPU class", 422, "invalid-inputs"),
    ("unknown field", 422, "invalid-request"),
    ("raw bytes upload", 422, "bad-dataset"),
    ("file: not signed in", 401, "unauthenticated"),
    ("file: empty body", 400, "empty-upload"),
    ("file: body over the limit", 413, "upload-too-large"),
    ("file: inputs not JSON", 422, "invalid-inputs"),
    ("file: bad inputs", 422, "invalid-inputs"),
    ("file: unknown format", 422, "invalid-request"),
    ("file: unreadable data", 422, "bad-dataset"),
])
def test_refusals_store_no_report(live, user, case, status, code):
    svc, client = live
    auth = bearer(client, user)
    cid = upload(client, CSV.encode(), auth, k=2, name="d.csv").json()["manifest_cid"]
    raw = upload(client, b"\x00\x01" * 100, auth, k=2).json()["manifest_cid"]
    r = {
        "not signed in": lambda: appraise_cid(client, {}, cid),
        "not the owner": lambda: appraise_cid(client, bearer(client, Account.create()), cid),
        "unknown manifest": lambda: appraise_cid(client, auth, UNKNOWN_CID),
        "bad inputs": lambda: appraise_cid(client, auth, cid, inputs={"cost": {"collection": -1}}),
        "bad GPU class": lambda: appraise_cid(client, auth, cid, gpu_class="H100!"),
        "unknown field": lambda: appraise_cid(client, auth, cid, extra=1),
        "raw bytes upload": lambda: appraise_cid(client, auth, raw),
        "file: not signed in": lambda: appraise_file(client, {}, CSV.encode()),
        "file: empty body": lambda: appraise_file(client, auth, b""),
        "file: body over the limit": lambda: appraise_file(client, auth, b"a\n" * UPLOAD_LIMIT),
        "file: inputs not JSON": lambda: appraise_file(client, auth, CSV.encode(), inputs="{"),
        "file: bad inputs": lambda: appraise_file(client, auth, CSV.encode(), inputs='{"cost": {}}'),
        "file: unknown format": lambda: appraise_file(client, auth, CSV.encode(), format="xml"),
        "file: unreadable data": lambda: appraise_file(client, auth, b"a,a\n1,2\n"),
    }[case]()
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert rows(svc) == {"uploads": 2, "appraisals": 0}


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/appraisals/0x" + "ab" * 32, 404, "appraisal-not-found"),
    ("/api/v1/appraisals/0x1234", 422, "invalid-request"),
    ("/api/v1/appraisals/" + "ab" * 32, 422, "invalid-request"),
])
def test_get_unknown_or_malformed_hash(client, path, status, code):
    r = client.get(path)
    assert (r.status_code, r.json()["code"]) == (status, code)
