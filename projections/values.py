"""Small conversions projection functions share: event JSON values to row values."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from projections.records import EventRecord, FastUUID


def time_of(value: Any) -> datetime | None:
    """An ISO time string from event JSON as a datetime (None stays None)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


CANONICAL_LENGTH = 36
MEMO_LIMIT = 100_000


def id_of(value: Any) -> str | None:
    """A UUID from event JSON in canonical text form (None stays None).

    decode_stored already writes UUIDs canonically, so that form passes straight through.
    """
    if value is None:
        return None
    if type(value) is str and len(value) == CANONICAL_LENGTH and value.islower():
        return value
    return str(UUID(str(value)))


def ids_of(values: Any) -> list[str]:
    """A list of UUIDs from event JSON in canonical text form, without repeats."""
    return list(dict.fromkeys(id_of(v) or "" for v in values or ()))


def uuid_text(value: UUID | None) -> str | None:
    """Canonical text of a UUID, formatted directly (str(UUID) is slow in a rebuild's loop)."""
    if value is None:
        return None
    if type(value) is FastUUID:
        return str(value)  # formatted in C
    h = f"{value.int:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_ACTORS: dict[str, str | None] = {}


def volunteer_actor(actor: str) -> str | None:
    """The volunteer id an actor names, or None for services and policies.

    Memoised: a network has hundreds of actors and millions of events, and parsing a UUID
    per event is a visible share of a rebuild.
    """
    found = _ACTORS.get(actor, "")
    if found != "":
        return found
    try:
        parsed: str | None = str(UUID(actor))
    except ValueError:
        parsed = None
    if len(_ACTORS) >= MEMO_LIMIT:
        _ACTORS.clear()
    _ACTORS[actor] = parsed
    return parsed


_STREAM_TEXT: dict[UUID, str] = {}


def stream_key(record: EventRecord) -> str:
    """The record's stream id as text. asyncpg's UUIDs (read from PostgreSQL) print in C,
    faster than a look-up; others are memoised per stream."""
    stream_id = record.stream_id
    if type(stream_id) is FastUUID:
        return str(stream_id)
    text = _STREAM_TEXT.get(stream_id)
    if text is None:
        if len(_STREAM_TEXT) >= MEMO_LIMIT:
            _STREAM_TEXT.clear()
        text = _STREAM_TEXT[record.stream_id] = str(record.stream_id)
    return text


def stamp(record: EventRecord) -> dict[str, Any]:
    """Columns every stream-keyed row carries: last event, version and store position."""
    return {"last_event_at": record.occurred_at, "version": record.version,
            "position": record.position}


WINDOW_COLUMNS = ("window_opens_at", "window_closes_at", "window_daily_from",
                  "window_daily_until", "window_zone", "window_closed_within")
"""The columns a row keeps a resource's opening window in (all None: no window)."""


def window_columns(record: EventRecord) -> dict[str, Any]:
    """WindowSet's (or WindowCleared's) fields as row columns."""
    if record.type == "WindowCleared":
        return dict.fromkeys(WINDOW_COLUMNS)
    d = record.data
    return {"window_opens_at": time_of(d.get("opens_at")),
            "window_closes_at": time_of(d.get("closes_at")),
            "window_daily_from": d.get("daily_from"), "window_daily_until": d.get("daily_until"),
            "window_zone": d.get("time_zone") or "UTC",
            "window_closed_within": bool(d.get("closed_within"))}
