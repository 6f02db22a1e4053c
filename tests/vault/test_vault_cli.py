"""``gpubarter dataset seal|open|show|verify`` as a user runs them.

One test runs the real entry point in subprocesses; the rest call the same ``main()``
in-process (the CLI's import costs seconds per process) with the state dir in tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devservers.ipfs import LocalIpfsNode


def gpubarter(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    entry = "import sys; from cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", entry, *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def run_cli(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """``gpubarter ARGS`` in this process -> CompletedProcess-like (returncode, stdout, stderr)."""
    from cli import main

    monkeypatch.setenv("GPUBARTER_STATE_DIR", cli_env["GPUBARTER_STATE_DIR"])
    monkeypatch.delenv("GPUBARTER_IPFS_API", raising=False)

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)

    return run


def seal(env: dict[str, str], src: Path, k: int, *extra: str, run=gpubarter) -> dict[str, str]:  # type: ignore[no-untyped-def]
    proc = run(env, "dataset", "seal", str(src), "-k", str(k), "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def keys_in(env: dict[str, str], cid: str) -> list[str]:
    path = Path(env["GPUBARTER_STATE_DIR"]) / "vault" / "keys" / f"{cid}.json"
    return json.loads(path.read_text())["keys"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("where", ["embedded store, subprocesses", "ipfs node, in-process"])
def test_seal_show_verify_open_round_trip(where: str, tmp_path: Path, cli_env: dict[str, str],
                                          request: pytest.FixtureRequest) -> None:
    extra: tuple[str, ...] = ()
    run = gpubarter
    if where.startswith("ipfs"):
        extra = ("--ipfs-api", request.getfixturevalue("ipfs_node").api_url)
        run = request.getfixturevalue("run_cli")
    src = tmp_path / "table.csv"
    src.write_text("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(1000)))
    out = seal(cli_env, src, 3, "--licence", "CC-BY-4.0", *extra, run=run)
    cid = out["manifest_cid"]
    assert len(out["key_commitments"]) == 3

    shown = run(cli_env, "dataset", "show", cid, "--json", *extra)
    assert shown.returncode == 0, shown.stderr
    manifest = json.loads(shown.stdout)
    assert manifest["licence"]["id"] == "CC-BY-4.0" and manifest["kind"] == "csv"
    assert [s["key_commitment"] for s in manifest["shards"]] == out["key_commitments"]

    verified = run(cli_env, "dataset", "verify", cid, *extra)
    assert verified.returncode == 0, verified.stderr
    assert "3 shards verified" in verified.stdout

    shards = range(3) if run is not gpubarter else range(1)  # a subprocess costs seconds
    body = b""
    for i in shards:
        dest = tmp_path / f"part{i}.csv"
        opened = run(cli_env, "dataset", "open", cid, "--shard", str(i), "--out", str(dest), *extra)
        assert opened.returncode == 0, opened.stderr
        text = dest.read_bytes()
        assert text.startswith(b"a,b\n")
        body += text[4:]
    expected = src.read_bytes()
    if len(shards) == 3:
        assert b"a,b\n" + body == expected
    else:
        assert expected.startswith(b"a,b\n" + body)

    keys = keys_in(cli_env, cid)
    for proc in (out, shown.stdout, verified.stdout):
        assert not any(k in str(proc) for k in keys)


def test_open_with_a_key_file_and_refusals(tmp_path: Path, cli_env: dict[str, str],
                                           run_cli) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(50_000))
    cid = seal(cli_env, src, 2, run=run_cli)["manifest_cid"]
    keys = keys_in(cli_env, cid)

    key_file = tmp_path / "k1.hex"
    key_file.write_text(keys[1])
    ok = run_cli(cli_env, "dataset", "open", cid, "-s", "1", "-o", str(tmp_path / "s1"),
                   "--key-file", str(key_file))
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "s1").read_bytes() == src.read_bytes()[25_000:]

    key_file.write_text(keys[0])  # the key of another shard
    wrong = run_cli(cli_env, "dataset", "open", cid, "-s", "1", "-o", str(tmp_path / "w"),
                      "--key-file", str(key_file))
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: that key is not the key of shard 1")
    assert keys[0] not in wrong.stderr + wrong.stdout and not (tmp_path / "w").exists()

    key_file.write_text("zz" * 32)
    bad = run_cli(cli_env, "dataset", "open", cid, "-s", "1", "-o", str(tmp_path / "w"),
                    "--key-file", str(key_file))
    assert bad.returncode == 1 and "64 hexadecimal characters" in bad.stderr

    too_many = run_cli(cli_env, "dataset", "seal", str(src), "-k", "50001")
    assert too_many.returncode == 1
    assert "error: K=50001 is larger than the data" in too_many.stderr
    assert "Traceback" not in too_many.stderr


def test_verify_reports_a_damaged_shard(tmp_path: Path, cli_env: dict[str, str], run_cli) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(40_000))
    out = seal(cli_env, src, 2, run=run_cli)
    manifest = json.loads(run_cli(cli_env, "dataset", "show", out["manifest_cid"], "--json").stdout)
    obj = Path(out["store"]) / "objects" / manifest["shards"][1]["cid"]
    obj.write_bytes(obj.read_bytes()[:-1])
    proc = run_cli(cli_env, "dataset", "verify", out["manifest_cid"], "--no-keys")
    assert proc.returncode == 1
    assert "1 of 2 shards failed verification: [1]" in proc.stderr


def test_ipfs_node_down_is_one_clear_line(tmp_path: Path, cli_env: dict[str, str],
                                          ipfs_node: LocalIpfsNode, run_cli) -> None:  # type: ignore[no-untyped-def]
    from gpubarter.process import free_port

    src = tmp_path / "blob.bin"
    src.write_bytes(b"x" * 1000)
    proc = run_cli(cli_env, "dataset", "seal", str(src), "-k", "2", "--ipfs-api",
                     f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: cannot reach an IPFS node")
    assert not (Path(cli_env["GPUBARTER_STATE_DIR"]) / "vault" / "keys").exists()
    assert seal(cli_env, src, 2, "--ipfs-api", ipfs_node.api_url, run=run_cli)["manifest_cid"]
