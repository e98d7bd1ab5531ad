"""decode_stored's fast path gives what a plain, obviously correct decoder gives."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest

from domain.case import TYPED_FLAG_REASON, Case
from projections.records import PLAINTEXT_BEFORE, WITHHELD, decode_stored


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


def test_an_old_versions_plaintext_free_text_is_withheld() -> None:
    state = stored_state(place="ZZ-UNIQUE Chop", reason="queue at the border")

    record = decode_stored(1, uuid4(), 5, "domain.case:Case.Stuck", state)

    assert record.data == {"place": WITHHELD, "reason": WITHHELD}


def test_an_old_flags_typed_reason_is_withheld_and_a_machine_reason_kept() -> None:
    typed = decode_stored(1, uuid4(), 5, "domain.case:Case.CaseFlagged",
                          stored_state(reason="refuses to move", detail="ZZ-UNIQUE"))
    machine = decode_stored(2, uuid4(), 6, "domain.case:Case.CaseFlagged",
                            stored_state(reason="resource_unsafe", detail="shelled"))

    assert (typed.data["reason"], typed.data["detail"]) == (TYPED_FLAG_REASON, WITHHELD)
    assert (machine.data["reason"], machine.data["detail"]) == ("resource_unsafe", WITHHELD)


def test_a_sealed_version_passes_unchanged() -> None:
    subject = uuid4()
    state = stored_state(class_version=2, personal=envelope(
        "personal", {"subject": subject.hex, "sealed": "AAAA"}))

    record = decode_stored(1, uuid4(), 5, "domain.case:Case.Stuck", state)

    assert record.data == {"class_version": 2,
                           "personal": {"subject_id": str(subject), "sealed": True}}


@pytest.mark.parametrize("name", sorted(PLAINTEXT_BEFORE))
def test_the_withheld_table_names_the_version_that_seals_each_event(name: str) -> None:
    event_class = getattr(Case, name)
    # A later version may add readable fields (CaseFlagged 3: the closing time of a window),
    # never unseal: the sealing version is the current one or an earlier one.
    assert PLAINTEXT_BEFORE[name][0] <= event_class.class_version
    assert "personal" in {f.name for f in dataclasses.fields(event_class)}


def test_every_case_event_with_sealed_free_text_is_in_the_withheld_table() -> None:
    sealed_later = {name for name, value in vars(Case).items()
                    if isinstance(value, type) and issubclass(value, Case.Event)
                    and "personal" in {f.name for f in dataclasses.fields(value)}
                    and getattr(value, "class_version", 1) > 1}
    assert sealed_later == set(PLAINTEXT_BEFORE)
