"""Opaque cursors for keyset pagination over an increasing integer id."""

from __future__ import annotations

import base64
import json
from typing import Generic, TypeVar

from pydantic import BaseModel

from backend.api.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise Problem(400, "invalid-cursor", "the cursor is not one this API issued") from exc
