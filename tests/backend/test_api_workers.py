"""``gpubarter api --workers N``: N API processes on one port, on PostgreSQL; bad counts refused."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from cli_runner import Cli, in_process_cli
from waiting import wait_for

from backend.service import BackendService
from gpubarter.deployment_record import save_deployment
from gpubarter.errors import ConfigError
from gpubarter.paths import project_root
from gpubarter.process import free_port, port_in_use
from gpubarter.settings import ApiSettings


@pytest.fixture
def gpubarter(deployment, chain, tmp_path, monkeypatch, capsys) -> Iterator[Cli]:
    yield from in_process_cli(deployment, chain, tmp_path, monkeypatch, capsys)


def _answers(url: str) -> bool:
    """A fresh connection (the kernel gives it to whichever worker accepts) gets a page of series."""
    try:
        return httpx.get(f"{url}/api/v1/series", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_workers_serve_one_port_each_on_its_own(chain, deployment, postgres, cli_env,
                                                    tmp_path: Path) -> None:
    save_deployment(deployment, tmp_path / "deployments")
    port, name = free_port(), "test_api_workers"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "api", "--workers", "2", "--port", str(port),
                             "--database-url", postgres.create_database(name)],
                            env={**cli_env, "GPUBARTER_LOCAL_RPC_URL": chain.url}, cwd=project_root(),
                            stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        assert f"API at {url}/api/v1 by 2 workers" in proc.stdout.readline()  # printed once all serve
        first = psutil.Process(proc.pid)
        [extra] = first.children()
        for serving, paused in ((extra, first), (first, extra)):
            paused.suspend()  # SIGSTOP: only the other process can accept the next connection
            try:
                assert _answers(url), f"pid {serving.pid} did not answer while pid {paused.pid} was paused"
            finally:
                paused.resume()
        proc.send_signal(signal.SIGINT)  # Ctrl-C stops the extra worker too
        assert proc.wait(timeout=30) == 0
        assert not extra.is_running()
        wait_for("the port to be free", lambda: not port_in_use("127.0.0.1", port), timeout=10)
    finally:
        proc.kill()
        proc.wait()
        postgres.drop_database(name)


def test_more_than_one_worker_on_sqlite_is_refused_before_anything_is_made(w3, deployment,
                                                                            tmp_path: Path) -> None:
    index = tmp_path / "index.sqlite3"
    with pytest.raises(ConfigError, match="2 API workers need PostgreSQL: each worker writes"):
        BackendService(w3, deployment, database_url=f"sqlite:///{index}", workers=2)
    with pytest.raises(ConfigError, match="the API needs at least 1 worker, got 0"):
        BackendService(w3, deployment, database_url=f"sqlite:///{index}", workers=0)
    assert not index.exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--workers", "0"), "Invalid value for '--workers' / '-w': Input should be greater than or equal to 1"),
    (("--workers", "2"), "error: 2 API workers need PostgreSQL"),  # the default database is SQLite
    (("--workers", "3", "--database-url", "sqlite:///{tmp}/other.sqlite3"),
     "error: 3 API workers need PostgreSQL"),
])
def test_api_refuses_a_worker_count_it_cannot_run(gpubarter: Cli, tmp_path: Path, args: tuple[str, ...],
                                                  message: str) -> None:
    port = free_port()
    out = gpubarter(0, "api", "--port", str(port), *(a.format(tmp=tmp_path) for a in args), ok=False)
    assert message in out and "Traceback" not in out
    assert not port_in_use("127.0.0.1", port)
    assert not list(tmp_path.rglob("*.sqlite3"))


def test_a_port_in_use_is_refused_clearly(w3, deployment, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = BackendService(w3, deployment, database_url=f"sqlite:///{tmp_path / 'index.sqlite3'}",
                                 settings=ApiSettings(port=port))
        with pytest.raises(ConfigError, match=f"could not listen on 127.0.0.1:{port} .*port in use"):
            service.start()
