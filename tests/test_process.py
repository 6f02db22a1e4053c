"""ChildProcess children (gpubarter/process.py): an unnamed log leaves nothing in the temp dir."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from gpubarter.errors import NodeStartError
from gpubarter.process import ChildProcess


def test_a_child_without_a_log_path_leaves_no_file_and_its_last_lines_explain_a_failed_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = ChildProcess("flaky")
    script = "import sys\nfor i in range(5000): print('line', i)\nprint('fatal: port taken'); sys.exit(3)"
    failed = r"flaky exited at start \(code 3\): .*line 4999 fatal: port taken"
    with pytest.raises(NodeStartError, match=failed):
        child.start([sys.executable, "-c", script], ready=lambda: False, timeout=30)
    assert list(tmp_path.iterdir()) == []


def test_a_running_childs_log_has_no_name_in_the_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = ChildProcess("sleeper")
    child.start([sys.executable, "-c", "print('up', flush=True); import time; time.sleep(30)"],
                ready=lambda: "up" in child.log_tail(), timeout=30)
    try:
        assert list(tmp_path.iterdir()) == []  # a SIGKILLed parent could leave nothing behind
        assert child.log_tail() == "up"
    finally:
        child.stop()
