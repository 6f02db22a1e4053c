"""The gpubarter command line: deploy, token commands, and clear one-line refusals."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from devservers.anvil import LocalChain
from gpubarter.chain.accounts import dev_account
from gpubarter.chain.network import connect
from gpubarter.paths import project_root
from gpubarter.process import free_port


def gpubarter(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True,
                          text=True, cwd=project_root(), timeout=timeout)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture
def local_env(cli_env, chain):
    return {**cli_env, "GPUBARTER_LOCAL_RPC_URL": chain.url}


def test_help_lists_every_command(cli_env):
    proc = gpubarter("--help", env=cli_env)
    assert proc.returncode == 0
    for cmd in ("compile", "deploy", "node", "demo", "bench", "token"):
        assert cmd in proc.stdout
    for cmd in ("compile", "deploy", "node", "demo", "bench"):
        assert gpubarter(cmd, "--help", env=cli_env).returncode == 0


def test_deploy_local_writes_deployment_and_token_commands_work(local_env, w3, tmp_path):
    proc = gpubarter("deploy", "--network", "local", env=local_env)
    assert proc.returncode == 0, proc.stderr
    dep = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    token = dep["contracts"]["ComputeToken"]
    assert len(w3.eth.get_code(token)) > 0
    assert dep["deployer"] == dev_account(0).address

    faucet = gpubarter("token", "faucet", env=local_env)
    assert faucet.returncode == 0, faucet.stderr
    assert "gas" in faucet.stdout and "tx 0x" in faucet.stdout
    balance = gpubarter("token", "balance", env=local_env)
    assert "1,001,000 CPT" in balance.stdout  # initial supply + one drip


def test_no_local_chain_running(cli_env):
    line = one_error_line(gpubarter("deploy", env=cli_env))
    assert "no local chain is running: start one with `gpubarter node`" in line


def test_missing_deployment_file(local_env):
    line = one_error_line(gpubarter("token", "balance", env=local_env))
    assert "no deployment for chain 31337" in line and "gpubarter deploy" in line


def test_unknown_network(local_env):
    line = one_error_line(gpubarter("deploy", "--network", "nowhere", env=local_env))
    assert "unknown network 'nowhere'" in line and "sepolia" in line


@pytest.mark.parametrize("bad_key", ["0x1234", "zz" * 32, "0x" + "00" * 32, " "])
def test_malformed_private_key_is_refused_and_never_echoed(cli_env, bad_key):
    env = {**cli_env, "GPUBARTER_PRIVATE_KEY": bad_key, "SEPOLIA_RPC_URL": "http://127.0.0.1:1"}
    proc = gpubarter("deploy", "--network", "sepolia", env=env)
    line = one_error_line(proc)
    assert "private key from GPUBARTER_PRIVATE_KEY" in line
    if bad_key.strip():
        assert bad_key.strip().removeprefix("0x") not in proc.stdout + proc.stderr


def test_non_local_network_needs_a_key(cli_env):
    env = {**cli_env, "SEPOLIA_RPC_URL": "http://127.0.0.1:1"}
    line = one_error_line(gpubarter("deploy", "--network", "sepolia", env=env))
    assert "needs a signing key: set GPUBARTER_PRIVATE_KEY" in line


def test_unreachable_rpc_url(cli_env):
    port = free_port()
    key = dev_account(1).key.hex()
    env = {**cli_env, "GPUBARTER_PRIVATE_KEY": key,
           "SEPOLIA_RPC_URL": f"http://127.0.0.1:{port}/v3/secret-api-key"}
    proc = gpubarter("deploy", "--network", "sepolia", env=env)
    line = one_error_line(proc)
    assert f"cannot reach the RPC endpoint http://127.0.0.1:{port}" in line
    assert "secret-api-key" not in proc.stderr and key not in proc.stdout + proc.stderr


def test_rpc_serving_another_chain_is_refused(cli_env, chain):
    env = {**cli_env, "GPUBARTER_PRIVATE_KEY": dev_account(1).key.hex(), "SEPOLIA_RPC_URL": chain.url}
    line = one_error_line(gpubarter("deploy", "--network", "sepolia", env=env))
    assert "serves chain 31337, expected 11155111" in line


def test_testnet_like_deploy_with_env_key_waits_for_confirmations(cli_env, tmp_path):
    key = dev_account(1).key.hex()
    with LocalChain(chain_id=11155111, block_time=0.2) as testnet:
        env = {**cli_env, "GPUBARTER_PRIVATE_KEY": key, "SEPOLIA_RPC_URL": testnet.url}
        proc = gpubarter("deploy", "--network", "sepolia", env=env)
        assert proc.returncode == 0, proc.stderr
        assert key not in proc.stdout + proc.stderr and key.removeprefix("0x") not in proc.stdout
        dep = json.loads((tmp_path / "deployments" / "11155111.json").read_text())
        assert dep["deployer"] == dev_account(1).address
        w3 = connect(testnet.url)
        assert w3.eth.block_number >= dep["blocks"]["ComputeToken"] + 2


def test_keystore_with_wrong_password(cli_env, tmp_path):
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(Account.create().key, "right")))
    env = {**cli_env, "GPUBARTER_KEYSTORE": str(keystore), "GPUBARTER_KEYSTORE_PASSWORD": "wrong",
           "SEPOLIA_RPC_URL": "http://127.0.0.1:1"}
    line = one_error_line(gpubarter("deploy", "--network", "sepolia", env=env))
    assert f"could not decrypt keystore {keystore}" in line


def test_node_refuses_a_busy_port(cli_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = one_error_line(gpubarter("node", "--port", str(port), env=cli_env))
        assert f"port {port} on 127.0.0.1 is in use" in line


@pytest.mark.parametrize(("args", "message"), [
    (("token", "transfer", "0x1234", "1"), "is not an Ethereum address"),
    (("token", "transfer", "0x" + "11" * 20, "0"), "CPT must be a positive number"),
    (("token", "transfer", "0x" + "11" * 20, "abc"), "is not a number of CPT"),
    (("token", "transfer", "0x" + "11" * 20, "0.0000000000000000001"), "has more than 18 decimals"),
])
def test_token_transfer_refuses_bad_input(local_env, args, message):
    assert message in one_error_line(gpubarter(*args, env=local_env))


def test_node_runs_until_interrupted_and_cleans_up(cli_env, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "--port", str(port), "--deploy"],
                            env={**cli_env}, cwd=project_root(), stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if "press Ctrl-C" in line:
                break
        state = Path(cli_env["GPUBARTER_STATE_DIR"]) / "node.json"
        assert json.loads(state.read_text())["url"] == f"http://127.0.0.1:{port}"
        assert (tmp_path / "deployments" / "31337.json").is_file()
        proc.send_signal(2)
        assert proc.wait(timeout=15) == 0
        assert not state.exists()
    finally:
        proc.kill()
        proc.wait()


def test_usage_errors_are_reported_without_a_traceback(cli_env):
    proc = gpubarter("token", "transfer", "0x" + "11" * 20, "-2", env=cli_env)
    assert proc.returncode == 2
    assert "No such option: -2" in proc.stderr and "Traceback" not in proc.stderr


def test_exit_codes_of_commands_reach_the_shell():
    import typer

    from cli import app, main

    @app.command("exit-two-for-test", hidden=True)
    def _exit_two() -> None:
        raise typer.Exit(code=2)  # what `gpubarter bench` does when a budget is missed

    assert main(["exit-two-for-test"]) == 2
    assert main(["compile"]) == 0
