"""A throwaway PostgreSQL server on loopback, for tests and local runs.

Finds the server binaries (``initdb``, ``postgres``) on PATH or under
``/usr/lib/postgresql/*/bin``; when they are missing and we are root on Debian,
installs Debian's ``postgresql`` package first. PostgreSQL refuses to run as root,
so as root the cluster runs as the ``postgres`` system user. The server dies with
its parent (PR_SET_PDEATHSIG), like the local chain.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devservers.base import LocalServer
from gpubarter.errors import GpuBarterError, NodeStartError
from gpubarter.owned_tempdirs import owned_tempdir
from gpubarter.process import child_setup, free_port

if TYPE_CHECKING:
    import psycopg


class PostgresError(GpuBarterError):
    """PostgreSQL could not be found, installed or started."""


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(cand) / "initdb").is_file() and (Path(cand) / "postgres").is_file():
            return Path(cand)
    return None


def ensure_postgres(*, say=lambda msg: print(msg, file=sys.stderr, flush=True)) -> Path:  # type: ignore[no-untyped-def]
    """The folder holding ``initdb`` and ``postgres``, installing Debian's package if needed: the one
    explicit install step (the test session's start, a bench that needs PostgreSQL), saying so."""
    found = _bin_dir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresError("PostgreSQL server binaries (initdb, postgres) were not found: install them "
                            "(Debian/Ubuntu: apt-get install postgresql) or set GPUBARTER_DATABASE_URL")
    say("gpubarter: installing PostgreSQL from Debian's packages (apt-get install postgresql) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                                  "postgresql"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise PostgresError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    found = _bin_dir()
    if not found:
        raise PostgresError("apt-get installed postgresql but initdb/postgres are still missing")
    return found


class PostgresServer(LocalServer):
    """A throwaway PostgreSQL cluster in an owned temp dir, on 127.0.0.1 (trust auth, no fsync)."""

    def __init__(self, *, port: int | None = None, user: str = "gpubarter") -> None:
        self.port = port
        self.user = user
        self._dir: Path | None = None
        super().__init__("postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def start(self, *, timeout: float = 30.0) -> PostgresServer:
        bins = _bin_dir()
        if bins is None:
            raise PostgresError("PostgreSQL server binaries (initdb, postgres) were not found: install them "
                                "first (ensure_postgres() does it with apt-get where it may; Debian/Ubuntu: "
                                "apt-get install postgresql)")
        self._dir = owned_tempdir("gpubarter-pg-")
        data, sock = self._dir / "data", self._dir / "sock"
        sock.mkdir()
        run_as: tuple[int, int] | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            pw = pwd.getpwnam("postgres")
            run_as = (pw.pw_uid, pw.pw_gid)
            for p in (self._dir, sock):
                os.chown(p, *run_as)
        init = subprocess.run([str(bins / "initdb"), "-D", str(data), "-U", self.user, "--auth=trust",
                               "-E", "UTF8", "--no-sync"], capture_output=True, text=True,
                              preexec_fn=child_setup(run_as))
        if init.returncode != 0:
            self.stop()
            raise PostgresError(f"initdb failed: {init.stderr.strip()[-500:]}")
        self.port = self.port or free_port()
        try:
            self._process.start(
                [str(bins / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(sock),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=200",
                 # a throwaway cluster: keep its WAL near the minimum (CREATE DATABASE logs the template)
                 "-c", "max_wal_size=64MB", "-c", "min_wal_size=32MB"],
                ready=self._accepts_connections, timeout=timeout, poll_s=0.1, run_as=run_as,
                stop_signal=signal.SIGINT)  # SIGINT: PostgreSQL's fast shutdown
        except NodeStartError as exc:
            self.stop()
            raise PostgresError(str(exc)) from None
        return self

    def _accepts_connections(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                                 connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own code, not users
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def drop_database(self, name: str) -> None:
        """Drop a database made by :meth:`create_database`, ending its connections first: each one
        holds a copy of the template (8 MB), so a suite that makes hundreds drops them as it goes."""
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self) -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                               autocommit=True)

    def stop(self) -> None:
        self._process.stop(grace_s=10)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
