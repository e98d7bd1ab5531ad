"""decode_stored's fast path gives what a plain, obviously correct decoder gives."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from projections.records import decode_stored


def reference_plain(value: Any) -> Any:
    """The straightforward unwrapping of eventsourcing's {"_type_", "_data_"} envelopes."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            kind, data = value["_type_"], value["_data_"]
            if kind == "uuid_hex":
                return str(UUID(data))
            if kind == "personal":
                return {"subject_id": str(UUID(data["subject"])), "sealed": "erased" not in data}
            return reference_plain(data)
        return {k: reference_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reference_plain(v) for v in value]
    return value


def envelope(kind: str, data: Any) -> dict[str, Any]:
    return {"_type_": kind, "_data_": data}


def stored_state(**fields: Any) -> bytes:
    command = uuid4()
    return orjson.dumps({
        "timestamp": envelope("datetime_iso", "2024-03-01T06:00:30+00:00"),
        "originator_topic": "domain.case:Case",
        "meta": envelope("meta", {"actor": "a", "at": "2024-03-01T06:00:30+00:00",
                                  "command_id": command.hex,
                                  "correlation_id": command.hex}),
        **fields})


STATES = [
    stored_state(person_id=envelope("uuid_hex", uuid4().hex), urgency="low",
                 personal=envelope("personal", {"subject": uuid4().hex, "sealed": "AAAA"})),
    stored_state(resource_ids=[envelope("uuid_hex", uuid4().hex) for _ in range(3)],
                 text="go"),
    stored_state(note=envelope("personal", {"subject": uuid4().hex, "erased": True})),
    stored_state(nested={"deep": [envelope("uuid_hex", uuid4().hex), {"x": 1}]}),
]


@pytest.mark.parametrize("state", STATES)
def test_fast_decoding_equals_the_reference(state: bytes) -> None:
    raw = orjson.loads(state)
    meta = raw["meta"]["_data_"]

    record = decode_stored(9, uuid4(), 2, "domain.case:Case.CaseOpened", state)

    expected = reference_plain({k: v for k, v in raw.items()
                                if k not in ("meta", "timestamp", "originator_topic")})
    assert record.data == expected
    assert record.command_id == UUID(meta["command_id"])
    assert str(record.command_id) == str(UUID(meta["command_id"]))
    assert hash(record.correlation_id) == hash(UUID(meta["correlation_id"]))
    assert record.occurred_at == datetime.fromisoformat(meta["at"])
    assert (record.stream_type, record.type, record.actor) == ("case", "CaseOpened", "a")


def test_without_meta_the_time_comes_from_the_timestamp() -> None:
    state = orjson.dumps({"timestamp": envelope("datetime_iso", "2024-03-01T06:00:30+00:00"),
                          "x": 1})

    record = decode_stored(1, uuid4(), 1, "domain.resource:Resource.Whatever", state)

    assert record.occurred_at == datetime.fromisoformat("2024-03-01T06:00:30+00:00")
    assert (record.command_id, record.actor, record.data) == (None, "", {"x": 1})
