"""gpubarter/owned_tempdirs.py: a killed run's temp dir goes at the next start, a live one stays."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gpubarter.owned_tempdirs import OWNER_FILE, owned_tempdir, sweep


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def test_a_dead_owners_folder_is_removed_when_the_next_one_is_made(temp_root: Path):
    stale = temp_root / "gpubarter-pg-stale"
    (stale / "data").mkdir(parents=True)
    (stale / "data" / "PG_VERSION").write_text("15")
    (stale / OWNER_FILE).write_text(str(_dead_pid()))

    fresh = owned_tempdir("gpubarter-pg-")

    assert not stale.exists()
    assert fresh.parent == temp_root and fresh.name.startswith("gpubarter-pg-")
    assert (fresh / OWNER_FILE).read_text() == str(os.getpid())


def test_live_owners_unmarked_folders_and_other_prefixes_are_left_alone(temp_root: Path):
    live = owned_tempdir("gpubarter-pg-")  # this process owns it
    unmarked = temp_root / "gpubarter-pg-being-made"
    unmarked.mkdir()
    garbled = temp_root / "gpubarter-pg-garbled"
    garbled.mkdir()
    (garbled / OWNER_FILE).write_text("not a pid")
    other = temp_root / "gpubarter-ipfs-x"
    other.mkdir()
    (other / OWNER_FILE).write_text(str(_dead_pid()))

    assert sweep("gpubarter-pg-") == []
    assert live.exists() and unmarked.exists() and garbled.exists() and other.exists()
    assert sweep("gpubarter-ipfs-") == [other] and not other.exists()
