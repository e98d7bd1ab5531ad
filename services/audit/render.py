"""Aggregates and events as JSON-safe values, with personal data disclosed only as allowed.

Pure functions: no store, no clock. What a viewer sees of a `PersonalData` value is decided
by a `Disclosure`, which also remembers whose data it showed (so the view can be logged).
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from domain.base import Meta, PersonalData
from services.audit.models import EventMeta

REDACTED = "[redacted]"
ERASED = "[erased]"

LIBRARY_FIELDS = frozenset({"_id", "_version", "_created_on", "_modified_on", "_pending_events"})
"""eventsourcing's own aggregate attributes (shown apart from the state, or not at all)."""

EVENT_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp",
                            "originator_topic", "meta"})
"""Event attributes that say where an event belongs rather than what it says."""


class Disclosure:
    """What one viewer is shown of personal data, and whose data they were shown."""

    def __init__(self, permitted: bool,
                 reveal: Callable[[PersonalData], Mapping[str, Any] | None],
                 is_erased: Callable[[UUID], bool],
                 owner: Callable[[PersonalData], PersonalData] | None = None) -> None:
        self.permitted = permitted
        self._reveal = reveal
        self._is_erased = is_erased
        self._owner = owner
        """Names the subject of legacy plaintext, which an old event carries under its
        stream's id (PersonalData.legacy); without it, such a value is never shown."""
        self.revealed: set[UUID] = set()

    @property
    def label(self) -> str:
        return "shown" if self.permitted else "redacted"

    def show(self, data: PersonalData) -> Any:
        if data.legacy and self._owner is not None:
            data = self._owner(data)
        if data.erased:
            return ERASED
        if not self.permitted:
            return ERASED if self._is_erased(data.subject_id) else REDACTED
        fields = self._reveal(data)
        if fields is None:  # the subject's key is gone: erased after this event was stored
            return ERASED
        self.revealed.add(data.subject_id)
        if data.fields is None and type(fields) is dict:
            return dict(fields)  # unsealed from orjson's output: JSON-safe already
        return to_json(dict(fields), self)


class SealedForm(Disclosure):
    """Shows personal data as its sealed bytes: a faithful, non-revealing form for comparing."""

    def __init__(self) -> None:
        super().__init__(False, lambda _: None, lambda _: False)

    def show(self, data: PersonalData) -> Any:
        sealed = base64.b64encode(data.sealed).decode() if data.sealed else None
        return {"subject": str(data.subject_id), "sealed": sealed, "erased": data.erased,
                "plain": None if data.fields is None else to_json(dict(data.fields), self)}


def hidden() -> Disclosure:
    """A disclosure that shows no personal data and cannot tell erased subjects apart."""
    return Disclosure(False, lambda _: None, lambda _: False)


def to_json(value: Any, disclosure: Disclosure) -> Any:
    """A JSON-safe copy of any domain value (dicts, lists, strings, numbers, booleans)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    convert = _EXACT.get(kind)
    if convert is not None:  # the common built-in types, looked up instead of tested in turn
        return convert(value, disclosure)
    return _general(value, disclosure)


def _general(value: Any, disclosure: Disclosure) -> Any:
    """Any value, subclasses included: tested in turn, most specific first."""
    if value is None or (isinstance(value, bool | int) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return to_json(value.value, disclosure)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return _float(value, disclosure)
    if isinstance(value, PersonalData):
        return disclosure.show(value)
    return _structured(value, disclosure)


def _float(value: float, _: Disclosure) -> Any:
    return value if math.isfinite(value) else str(value)


def _mapping(value: Mapping[Any, Any], disclosure: Disclosure) -> dict[str, Any]:
    return {key if type(key) is str else _key(key, disclosure): to_json(item, disclosure)
            for key, item in value.items()}


def _sequence(value: list[Any] | tuple[Any, ...], disclosure: Disclosure) -> list[Any]:
    return [to_json(item, disclosure) for item in value]


def _set(value: set[Any] | frozenset[Any], disclosure: Disclosure) -> list[Any]:
    return sorted((to_json(item, disclosure) for item in value), key=canonical)


def _bytes(value: bytes | bytearray | memoryview, _: Disclosure) -> str:
    return base64.b64encode(bytes(value)).decode()


def _isoformat(value: datetime | date | time, _: Disclosure) -> str:
    return value.isoformat()


def _shown(value: PersonalData, disclosure: Disclosure) -> Any:
    return disclosure.show(value)


_EXACT: dict[type, Callable[[Any, Disclosure], Any]] = {
    float: _float, dict: _mapping, list: _sequence, tuple: _sequence, set: _set,
    frozenset: _set, UUID: lambda value, _: str(value), datetime: _isoformat,
    date: _isoformat, time: _isoformat, timedelta: lambda value, _: value.total_seconds(),
    Decimal: lambda value, _: str(value), bytes: _bytes, bytearray: _bytes,
    memoryview: _bytes, PersonalData: _shown,
}
"""Converters by exact type; any other type (subclasses too) goes through `_general`."""


def _structured(value: Any, disclosure: Disclosure) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes(value, disclosure)
    if isinstance(value, Mapping):
        return _mapping(value, disclosure)
    if isinstance(value, list | tuple):
        return _sequence(value, disclosure)
    if isinstance(value, set | frozenset):
        return _set(value, disclosure)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name), disclosure)
                for f in dataclasses.fields(value)}
    if hasattr(value, "__dict__"):
        return {k: to_json(v, disclosure) for k, v in vars(value).items()
                if not k.startswith("_")}
    return str(value)


def _key(key: Any, disclosure: Disclosure) -> str:
    plain = to_json(key, disclosure)
    return plain if isinstance(plain, str) else canonical(plain)


def canonical(value: Any) -> str:
    """A stable text form of a JSON-safe value (sorted keys), for comparing and hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def aggregate_fields(aggregate: Any) -> dict[str, Any]:
    """The aggregate's own fields: its __dict__ without eventsourcing's and pending events.

    Fields a domain class keeps behind a property (`_status` read as `.status`) are shown
    under the property's name, so a reader sees `status`, as the domain speaks of it.
    """
    raw = vars(aggregate)
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key in LIBRARY_FIELDS:
            continue
        name = key.lstrip("_")
        fields[key if not name or name in raw else name] = value
    return fields


def event_fields(domain_event: Any) -> dict[str, Any]:
    """What an event says, without the envelope that places it in its stream."""
    return {k: v for k, v in vars(domain_event).items() if k not in EVENT_ENVELOPE}


def event_meta(domain_event: Any) -> EventMeta | None:
    meta = getattr(domain_event, "meta", None)
    if not isinstance(meta, Meta):
        return None
    return EventMeta(actor=meta.actor, at=meta.at, command_id=meta.command_id,
                     correlation_id=meta.correlation_id)


def event_type(domain_event: Any) -> str:
    """The event's name in the domain's language (`CaseTaken`, not `Case.CaseTaken`)."""
    return type(domain_event).__qualname__.rsplit(".", 1)[-1]


def aggregate_type(aggregate: Any) -> str:
    return type(aggregate).__qualname__


def stream_type_of_topic(topic: str) -> str:
    """The aggregate class an event topic belongs to: 'domain.case:Case.CaseTaken' -> 'Case'."""
    qualname = topic.partition(":")[2]
    return qualname.rsplit(".", 1)[0] if "." in qualname else qualname


def state_json(aggregate: Any, disclosure: Disclosure) -> dict[str, Any]:
    state: dict[str, Any] = to_json(aggregate_fields(aggregate), disclosure)
    return state


def uuids_in(value: Any) -> list[UUID]:
    """Every UUID inside a value (lists, dicts, dataclasses), in order of appearance."""
    found: list[UUID] = []

    def walk(item: Any) -> None:
        if isinstance(item, UUID):
            found.append(item)
        elif isinstance(item, Mapping):
            for v in item.values():
                walk(v)
        elif isinstance(item, list | tuple | set | frozenset):
            for v in item:
                walk(v)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type | PersonalData):
            for f in dataclasses.fields(item):
                walk(getattr(item, f.name))

    walk(value)
    return list(dict.fromkeys(found))
