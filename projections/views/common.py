"""What every view needs: a reader of live tables, value normalisation, placeholders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

MAX_PAGE = 200


class Reader(Protocol):
    """Live read-model tables and a way to query them ('?' placeholders)."""

    async def table(self, projection: str, name: str, *, fresh: bool = False) -> str: ...
    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


def marks(values: Sequence[Any]) -> str:
    """'?, ?, ?' for an IN list of the values."""
    return ", ".join("?" for _ in values)


def as_time(value: Any) -> datetime | None:
    """A time column's value as an aware datetime (SQLite returns text)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_id(value: Any) -> str | None:
    """An id column's value as canonical text (PostgreSQL returns UUID objects)."""
    return None if value is None else str(value)


def id_arg(value: UUID | str) -> str:
    """An id as a query argument (text; PostgreSQL casts it to uuid)."""
    return str(value)


def seconds_between(later: datetime, earlier: datetime | None) -> int | None:
    """Whole seconds from `earlier` to `later` (None when there is no earlier)."""
    return None if earlier is None else max(int((later - earlier).total_seconds()), 0)


def split(text: Any) -> list[str]:
    """A comma-joined column as a list."""
    return [p for p in str(text or "").split(",") if p]
