"""Opaque cursors for keyset pagination over an increasing integer id."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select

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


def keyset(q: Select[Any], id_column: ColumnElement[int], settings: Any, limit: int | None,
           cursor: str | None) -> tuple[Select[Any], int]:
    """``q`` as one page after ``cursor`` (one row more than the page, to tell whether another
    follows), and the page size (``limit`` within the settings' default and maximum)."""
    size = min(limit or settings.default_page_size, settings.max_page_size)
    q = q.order_by(id_column).limit(size + 1)
    after = decode_cursor(cursor)
    if after is not None:
        q = q.where(id_column > after)
    return q, size


def page_of(rows: list[T], size: int, id_of: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The page's rows and the cursor of the next page (None when this is the last)."""
    more = len(rows) > size
    rows = rows[:size]
    return rows, encode_cursor(id_of(rows[-1])) if more else None
