"""Structured logging: one JSON object per line, each naming the backend.

Every record carries ``backend`` and ``simulated``, so a line from a simulated meter
can never be mistaken for a measurement of a real GPU. Keys are never logged: no
record field ever holds one.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LOGGER = "gpubarter.oracle"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "backend": self.backend,
            "simulated": self.backend == "simulated",
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


def setup(backend: str, stream: TextIO | None = None, level: int = logging.INFO) -> logging.Logger:
    log = logging.getLogger(LOGGER)
    log.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(backend))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    logging.Formatter.converter = time.gmtime
    return log
