"""The shape every projection consumes, whichever way events arrive (store or Kafka)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from asyncpg.pgproto.pgproto import UUID as _AsyncpgUUID

from domain.case import flag_reason

FastUUID: type[UUID] = _AsyncpgUUID
"""asyncpg's UUID class: what it returns for uuid columns; parsed and printed in C."""

STREAM_TYPES = {"Case": "case", "Volunteer": "volunteer", "Resource": "resource"}

WITHHELD = "[personal data]"
PLAINTEXT_BEFORE: dict[str, tuple[int, tuple[str, ...]]] = {
    "CaseReleased": (3, ("reason",)), "AdviceGiven": (2, ("text",)),
    "TransportArranged": (2, ("description",)), "CheckpointReached": (2, ("checkpoint",)),
    "Stuck": (2, ("place", "reason")), "Returned": (2, ("reason",)),
    "BorderCrossed": (2, ("crossing",)), "ArrivedSafe": (2, ("place",)),
    "CannotLeave": (2, ("reason",)), "CaseFlagged": (2, ("detail",)),
    "FlagCleared": (2, ("reason",)), "SupportGroupDissolved": (2, ("reason",)),
    "CaseReopened": (2, ("reason",)),
}
"""Case events whose free text older versions stored in plaintext: (the version that
seals it, the plaintext fields). Those bytes stay in the store (rewriting them would break
the hash chain), but nothing reads them out again: not Kafka, not a read model."""


class EventRecord(NamedTuple):
    """One stored event in plain JSON terms; personal data stays sealed. (A named tuple:
    immutable, and built several times faster than a frozen dataclass, which matters when
    a rebuild makes a million of them.)"""

    position: int
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    occurred_at: datetime
    actor: str
    command_id: UUID | None
    correlation_id: UUID | None
    data: dict[str, Any]


def _plain(value: Any) -> Any:
    """Unwrap eventsourcing's {"_type_": ..., "_data_": ...} envelopes into plain JSON."""
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _unwrap(value["_type_"], value["_data_"])
        return _plain_fields(dict(value))
    if kind is list:
        return [_plain(v) if type(v) is dict or type(v) is list else v for v in value]
    return value


def _plain_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Unwrap the values of a dict of fields in place (decoded just now: nobody shares it)."""
    for key, value in fields.items():
        kind = type(value)
        if kind is dict or kind is list:
            fields[key] = _plain(value)  # replacing a value while iterating is allowed
    return fields


def _uuid_text(hex_text: str) -> str:
    """Canonical UUID text from hex digits (what str(UUID(...)) gives), parsed and printed
    in C: several times faster than slicing the hex in Python, and a rebuild does this for most
    events."""
    return str(FastUUID(hex_text))


def _unwrap(kind: str, data: Any) -> Any:
    if kind == "uuid_hex":
        return _uuid_text(data)
    if kind == "personal":
        return {"subject_id": _uuid_text(data["subject"]), "sealed": "erased" not in data}
    return _plain(data)


@lru_cache(maxsize=4096)
def split_topic(topic: str) -> tuple[str, str]:
    """'domain.case:Case.CaseTaken' -> ('case', 'CaseTaken')."""
    qualname = topic.split(":", 1)[1]
    owner, _, name = qualname.rpartition(".")
    owner = owner.split(".")[-1]
    return STREAM_TYPES.get(owner, owner.lower()), name


def _uuid(hex_text: str | None) -> UUID | None:
    """A UUID from its hex text; hot path of rebuilds. asyncpg's UUID (a uuid.UUID subclass,
    equal and hashing alike) is built and printed in C, several times faster than UUID's
    own parsing and formatting; ids read from PostgreSQL are of that type already."""
    if not hex_text:
        return None
    return FastUUID(hex_text)


def decode_stored(position: int, stream_id: UUID, version: int, topic: str,
                  state: bytes) -> EventRecord:
    """Build an EventRecord straight from stored bytes (fast path for rebuilds and the relay)."""
    raw = orjson.loads(state)
    # Lift the envelope's bookkeeping out before unwrapping the rest: meta is a flat dict
    # of strings and the timestamp is only needed when meta has no time (both hot paths).
    meta = _meta(raw.pop("meta", None))
    raw.pop("originator_topic", None)
    stamped = raw.pop("timestamp", None)
    data = _plain_fields(raw) if type(raw) is dict else _plain(raw)
    stream_type, name = split_topic(topic)
    if name in PLAINTEXT_BEFORE and stream_type == "case":
        _withhold_plaintext(name, data)
    at = meta.get("at") or (_plain(stamped) if stamped is not None else None)
    command_hex, correlation_hex = meta.get("command_id"), meta.get("correlation_id")
    command_id = _uuid(command_hex)
    # A request that starts a conversation is its own correlation: parse the id once.
    correlation_id = command_id if correlation_hex == command_hex else _uuid(correlation_hex)
    return EventRecord(
        position=position, stream_id=stream_id, stream_type=stream_type, version=version,
        type=name, occurred_at=datetime.fromisoformat(at) if at else datetime.min,
        actor=meta.get("actor", ""), command_id=command_id, correlation_id=correlation_id,
        data=data,
    )


def _withhold_plaintext(name: str, data: dict[str, Any]) -> None:
    """An old version's plaintext free text is replaced by WITHHELD (a typed flag reason by
    the reason the board reads, as the domain's upcast does)."""
    sealed_since, fields = PLAINTEXT_BEFORE[name]
    if data.get("class_version", 1) >= sealed_since:
        return
    if name == "CaseFlagged" and isinstance(data.get("reason"), str):
        data["reason"] = flag_reason(data["reason"])[0]
    for field in fields:
        if field in data:
            data[field] = WITHHELD


def _meta(envelope: Any) -> dict[str, Any]:
    # MetaAsDict writes four strings under "_data_": nothing inside needs unwrapping.
    if type(envelope) is dict and envelope.get("_type_") == "meta" and len(envelope) == 2:
        inner = envelope["_data_"]
        if type(inner) is dict:
            return inner
    return _plain(envelope) or {}
