"""The shape every projection consumes, whichever way events arrive (store or Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

STREAM_TYPES = {"Case": "case", "Volunteer": "volunteer", "Resource": "resource"}


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event in plain JSON terms; personal data stays sealed."""

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
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _unwrap(value["_type_"], value["_data_"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _unwrap(kind: str, data: Any) -> Any:
    if kind == "uuid_hex":
        return str(UUID(data))
    if kind == "personal":
        return {"subject_id": str(UUID(data["subject"])), "sealed": "erased" not in data}
    return _plain(data)


def split_topic(topic: str) -> tuple[str, str]:
    """'domain.case:Case.CaseTaken' -> ('case', 'CaseTaken')."""
    qualname = topic.split(":", 1)[1]
    owner, _, name = qualname.rpartition(".")
    owner = owner.split(".")[-1]
    return STREAM_TYPES.get(owner, owner.lower()), name


def decode_stored(position: int, stream_id: UUID, version: int, topic: str,
                  state: bytes) -> EventRecord:
    """Build an EventRecord straight from stored bytes (fast path for rebuilds and the relay)."""
    raw = orjson.loads(state)
    data = _plain(raw)
    meta = data.pop("meta", None) or {}
    data.pop("originator_topic", None)
    timestamp = data.pop("timestamp", None)
    stream_type, name = split_topic(topic)
    at = meta.get("at") or timestamp
    return EventRecord(
        position=position, stream_id=stream_id, stream_type=stream_type, version=version,
        type=name, occurred_at=datetime.fromisoformat(at) if at else datetime.min,
        actor=meta.get("actor", ""),
        command_id=UUID(meta["command_id"]) if meta.get("command_id") else None,
        correlation_id=UUID(meta["correlation_id"]) if meta.get("correlation_id") else None,
        data=data,
    )
