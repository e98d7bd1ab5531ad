"""What every view needs: a reader of live tables, value normalisation, placeholders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

MAX_PAGE = 200
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _in_range(moment: datetime) -> datetime:
    try:
        inside = EARLIEST <= moment <= LATEST
    except OverflowError:  # an offset that leaves datetime's own range
        inside = False
    if not inside:
        raise ValueError(f"the time must be between {EARLIEST:%Y-%m-%d} and "
                         f"{LATEST:%Y-%m-%d} (UTC)")
    return moment


def no_nul(text: str) -> str:
    """Refuse NUL characters: PostgreSQL text cannot hold them, so a command carrying one
    would stop every read model that copies the text, and a filter with one fails its query."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters (U+0000)")
    return text


Plain = Annotated[str, AfterValidator(no_nul)]
"""Text without NUL characters (see `no_nul`)."""

RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
"""A date-time as RFC 3339 (section 5.6) writes it, the format the OpenAPI document declares."""


def _rfc_3339(value: object) -> object:
    """Text must be an RFC 3339 date-time: pydantic also reads '2024-01-01 00:00Z', a number
    of seconds or a time without seconds, which the declared format `date-time` excludes."""
    if isinstance(value, str) and not RFC_3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time with a timezone, "
                         "e.g. 2026-03-01T12:00:00Z")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_in_range)]
"""A time with a timezone, written as RFC 3339, within years every computation here can shift
it by (0001-01-01T00:00:00+14:00 or 9999-12-31T23:59-14:00 overflowed datetime arithmetic: 500)."""


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
