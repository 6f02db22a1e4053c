"""Test-only fault points: ``GPUBARTER_ORACLE_FAULT=<point>`` makes the daemon SIGKILL itself there.

Crash tests use them to stop the meter at an exact step of the submission, deterministically,
instead of hoping a timed ``kill`` lands in the right millisecond. Points:

- ``persisted``: a batch is signed and committed (state ``signed``), nothing sent yet;
- ``sent``: the batch's transaction is mined, the meter has not recorded it (still ``signed``);
- ``submitted``: recorded ``submitted(tx)``, not yet ``confirmed``.

Unset (always, outside tests) it does nothing. The kill is SIGKILL: no handler, no cleanup, no
flush, exactly like a power cut of the process.
"""

from __future__ import annotations

import os
import signal

from gpubarter.settings import settings

ENV = "GPUBARTER_ORACLE_FAULT"
POINTS = ("persisted", "sent", "submitted")


def point(name: str) -> None:
    """Die here (SIGKILL) when the environment names this fault point."""
    assert name in POINTS, name
    if settings().oracle.fault == name:
        os.kill(os.getpid(), signal.SIGKILL)
