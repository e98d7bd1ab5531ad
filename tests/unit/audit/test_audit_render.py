"""Domain values become JSON-safe, and personal data shows only as a Disclosure allows."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Any
from uuid import UUID

from domain.base import PersonalData
from services.audit.render import (
    ERASED,
    REDACTED,
    Disclosure,
    SealedForm,
    aggregate_fields,
    event_fields,
    stream_type_of_topic,
    to_json,
    uuids_in,
)

PERSON = UUID(int=7)
OTHER = UUID(int=8)
AT = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Place:
    city: str
    at: datetime


class FakeSealer:
    """Reveals what it was given, except for subjects whose key is gone."""

    def __init__(self, erased: frozenset[UUID] = frozenset()) -> None:
        self.erased = erased

    def reveal(self, data: PersonalData) -> dict[str, Any] | None:
        return None if data.subject_id in self.erased else {"name": "Iryna", "phone": "+380"}

    def is_erased(self, subject_id: UUID) -> bool:
        return subject_id in self.erased


def sealed(subject: UUID = PERSON) -> PersonalData:
    return PersonalData(subject_id=subject, sealed=b"\x01\x02")


def disclosure(permitted: bool, erased: frozenset[UUID] = frozenset()) -> Disclosure:
    sealer = FakeSealer(erased)
    return Disclosure(permitted, sealer.reveal, sealer.is_erased)


def test_plain_values_become_json_safe() -> None:
    value = {"id": PERSON, "at": AT, "wait": timedelta(minutes=2), "price": Decimal("1.50"),
             "colour": Colour.RED, "tags": {"b", "a"}, "pair": (1, 2), "place": Place("Lviv", AT),
             "raw": b"\x00\xff", UUID(int=1): "keyed by id"}

    shown = to_json(value, disclosure(False))

    assert shown == {"id": str(PERSON), "at": AT.isoformat(), "wait": 120.0, "price": "1.50",
                     "colour": "red", "tags": ["a", "b"],
                     "pair": [1, 2], "place": {"city": "Lviv", "at": AT.isoformat()},
                     "raw": "AP8=", str(UUID(int=1)): "keyed by id"}


def test_subclasses_of_built_in_types_render_as_their_base_types_do() -> None:
    class Count(IntEnum):
        THREE = 3

    class Tag(str):
        pass

    value = OrderedDict([(UUID(int=1), (Count.THREE, Tag("x"))), (2, frozenset({"b", "a"}))])
    assert to_json(value, disclosure(True)) == {str(UUID(int=1)): [3, "x"], "2": ["a", "b"]}
    assert type(to_json(Tag("x"), disclosure(True))) is str


def test_revealed_fields_are_a_copy_the_caller_may_change() -> None:
    revealed = {"name": "Iryna"}
    shown = Disclosure(True, lambda _: revealed, lambda _: False).show(sealed())
    shown["name"] = "changed"
    assert revealed == {"name": "Iryna"}


def test_personal_data_is_redacted_without_permission() -> None:
    view = disclosure(False)

    assert to_json({"personal": sealed()}, view) == {"personal": REDACTED}
    assert view.revealed == set()


def test_personal_data_is_shown_with_permission_and_the_subject_is_remembered() -> None:
    view = disclosure(True)

    assert to_json([sealed()], view) == [{"name": "Iryna", "phone": "+380"}]
    assert view.revealed == {PERSON}


def test_erased_personal_data_shows_erased_to_everyone() -> None:
    erased_value = PersonalData.erased_for(PERSON)

    assert to_json(erased_value, disclosure(True)) == ERASED
    assert to_json(erased_value, disclosure(False)) == ERASED


def test_sealed_data_of_an_erased_subject_shows_erased_not_redacted() -> None:
    # Old events still carry the ciphertext, but the subject's key is gone.
    for permitted in (True, False):
        view = disclosure(permitted, erased=frozenset({PERSON}))
        assert to_json({"a": sealed(PERSON), "b": sealed(OTHER)}, view) == {
            "a": ERASED, "b": {"name": "Iryna", "phone": "+380"} if permitted else REDACTED}
        assert PERSON not in view.revealed


def test_sealed_form_compares_ciphertext_without_revealing() -> None:
    assert to_json(sealed(), SealedForm()) == {"subject": str(PERSON), "sealed": "AQI=",
                                               "erased": False, "plain": None}


class Story:
    """Stands in for an aggregate: eventsourcing's own fields plus domain fields."""

    def __init__(self) -> None:
        self._id = PERSON
        self._version = 3
        self._created_on = AT
        self._modified_on = AT
        self._pending_events: list[object] = []
        self._status = "assigned"
        self.region = "Kharkiv"
        self._stage = "waiting"
        self.stage = "shadowed"


def test_aggregate_fields_drop_library_fields_and_name_private_ones_as_properties() -> None:
    assert aggregate_fields(Story()) == {"status": "assigned", "region": "Kharkiv",
                                         "_stage": "waiting", "stage": "shadowed"}


class Event:
    def __init__(self) -> None:
        self.originator_id = PERSON
        self.originator_version = 2
        self.timestamp = AT
        self.meta = object()
        self.resource_ids = [UUID(int=3), UUID(int=3), UUID(int=4)]
        self.note = sealed(UUID(int=5))


def test_event_fields_drop_the_envelope() -> None:
    assert set(event_fields(Event())) == {"resource_ids", "note"}


def test_uuids_are_found_in_nested_values_but_not_in_personal_data() -> None:
    assert uuids_in(event_fields(Event())) == [UUID(int=3), UUID(int=4)]


def test_stream_type_comes_from_the_event_topic() -> None:
    assert stream_type_of_topic("domain.case:Case.CaseTaken") == "Case"
    assert stream_type_of_topic("domain.case:Case") == "Case"
