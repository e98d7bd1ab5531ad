"""The event envelope: ids, headers, round trip, and no plaintext personal data on the wire."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest
from kafka_fakes import as_records, meta, record
from pydantic import ValidationError

from domain.roles import Authority, Role
from domain.volunteer import Volunteer
from services.kafka.messages import (
    EventMessage,
    decode_event,
    encode_event,
    event_id_for,
    event_message,
    header,
)

NAME = "Olena Kovalenko"
PHONE = "+380 67 123 4567"


def test_an_event_keeps_its_id_however_often_it_is_published() -> None:
    stream = uuid4()
    assert event_id_for(stream, 3) == event_id_for(stream, 3)
    assert event_id_for(stream, 3) != event_id_for(stream, 4)
    assert event_id_for(stream, 3) != event_id_for(uuid4(), 3)


def test_a_message_is_keyed_by_its_stream_so_a_stream_stays_in_one_partition() -> None:
    event = record()
    assert encode_event(event).key == str(event.stream_id).encode()


def test_a_message_round_trips_to_the_same_event_record() -> None:
    event = record(version=4)
    assert decode_event(encode_event(event).value) == event


def test_the_envelope_names_its_schema_and_version_and_the_causing_command() -> None:
    event = record()
    body = orjson.loads(encode_event(event).value)
    assert (body["schema"], body["schema_version"]) == ("corridor.event", 1)
    assert body["event_id"] == str(event_id_for(event.stream_id, event.version))
    assert body["causation_id"] == str(event.command_id)


def test_headers_carry_ids_type_and_time_for_routing_without_parsing() -> None:
    event = record()
    headers = encode_event(event).headers
    assert header(headers, "event_id") == str(event_id_for(event.stream_id, event.version))
    assert header(headers, "type") == "CaseTaken"
    assert header(headers, "schema_version") == "1"
    assert header(headers, "correlation_id") == str(event.correlation_id)
    assert header(headers, "causation_id") == str(event.command_id)
    assert header(headers, "occurred_at") == event.occurred_at.isoformat()


def test_unknown_ids_are_left_out_of_the_headers_rather_than_sent_empty() -> None:
    headers = encode_event(record(command_id=None, correlation_id=None)).headers
    names = {name for name, _ in headers}
    assert "causation_id" not in names
    assert "correlation_id" not in names
    assert {"event_id", "type", "schema_version", "occurred_at"} <= names


def test_a_message_of_another_schema_version_is_not_taken_for_this_one() -> None:
    body = orjson.loads(encode_event(record()).value)
    body["schema_version"] = 2
    with pytest.raises(ValidationError):
        decode_event(orjson.dumps(body))


def test_a_registered_volunteers_name_and_contact_never_reach_the_wire() -> None:
    volunteer = Volunteer.register(volunteer_id=uuid4(), display_name=NAME, languages=["uk"],
                                   time_zone="Europe/Kyiv", contact=PHONE,
                                   by=Authority("admin", frozenset({Role.ADMIN})), meta=meta())
    (registered,) = as_records(volunteer.collect_events())
    outgoing = encode_event(registered)
    wire = outgoing.value + b"".join(v for _, v in outgoing.headers)
    for secret in (NAME, "Kovalenko", PHONE, "123 4567"):
        assert secret.encode() not in wire
    personal = orjson.loads(outgoing.value)["data"]["personal"]
    assert personal == {"subject_id": str(volunteer.id), "sealed": True}


def test_the_envelope_carries_the_record_fields_unchanged() -> None:
    event = record(version=2)
    message = event_message(event)
    assert isinstance(message, EventMessage)
    assert (message.stream_id, message.version, message.type, message.data) == (
        event.stream_id, event.version, event.type, event.data)
