"""Conventions the rest of the system relies on: names, Meta, JSON-friendly attributes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from domain_scenarios import (
    destroyed_resource,
    whole_case,
    whole_resource,
    whole_transport,
    whole_volunteer,
)
from domain_transcoding import round_trip

from domain import aggregates
from domain.aggregate import CoordinationAggregate
from domain.base import Meta, PersonalData
from domain.case import Case
from domain.partner import Partner
from domain.referral import Referral
from domain.resource import Resource
from domain.volunteer import Volunteer

EVENT_NAMES = {
    Case: {"CaseOpened", "CaseTaken", "CaseAssigned", "CaseReleased", "AdviceGiven",
           "TransportArranged", "Departed", "CheckpointReached", "Stuck", "Returned",
           "BorderCrossed", "ArrivedSafe", "CannotLeave", "NoteAdded", "CaseFlagged",
           "FlagCleared", "SupportGroupFormed", "SupportGroupMemberAdded",
           "SupportGroupDissolved", "CaseClosed", "CaseReopened", "FollowUpRecorded",
           "PersonalDataErased", "TransportSeatsHeld", "TransportSeatsConfirmed",
           "TransportSeatsReleased", "TransportSeatsLapsed", "ContactRecorded",
           "ContactOverdue", "LostContactSuspected", "PossibleDuplicateFound",
           "DuplicateToldApart", "CaseMergedInto", "CaseMergedIn"},
    Volunteer: {"VolunteerRegistered", "RoleGranted", "RoleRevoked", "TrainingLogged",
                "VolunteerCleared", "ShiftStarted", "ShiftEnded", "VolunteerSuspended",
                "VolunteerBanned", "VolunteerReinstated", "PersonalDataErased"},
    Resource: {"ResourceReported", "ResourceVerified", "ResourceRejected",
               "VerificationExpired", "ResourceMarkedFull", "ResourceMarkedUnsafe",
               "ResourceDestroyed", "ResourceClosed", "ResourceReopened", "OccupancyUpdated",
               "ResourceRetracted", "PersonalDataErased", "TransportOffered", "SeatsHeld",
               "HoldConfirmed", "HoldReleased", "HoldLapsed", "WindowSet", "WindowCleared"},
}
CREATED = {Case: "CaseOpened", Volunteer: "VolunteerRegistered", Resource: "ResourceReported"}
HISTORIES: list[Callable[[], list[Any]]] = [
    lambda: list(whole_case().collect_events()),
    lambda: list(whole_volunteer().collect_events()),
    lambda: list(whole_resource().collect_events()) + list(
        destroyed_resource().collect_events()) + list(whole_transport().collect_events()),
]


def defined_events(cls: type[CoordinationAggregate]) -> set[str]:
    return {name for name, value in vars(cls).items()
            if isinstance(value, type) and issubclass(value, cls.Event)
            and name not in ("Event", "Created")}


def test_aggregates_are_listed_for_the_application() -> None:
    assert aggregates() == (Case, Volunteer, Resource, Partner, Referral)


@pytest.mark.parametrize("cls", [Case, Volunteer, Resource])
def test_each_aggregate_defines_exactly_the_agreed_events(
        cls: type[CoordinationAggregate]) -> None:
    assert defined_events(cls) == EVENT_NAMES[cls]


@pytest.mark.parametrize("cls", [Case, Volunteer, Resource])
def test_the_created_event_is_the_first(cls: type[CoordinationAggregate]) -> None:
    history = {Case: whole_case, Volunteer: whole_volunteer, Resource: whole_resource}[cls]()
    assert type(history.collect_events()[0]).__name__ == CREATED[cls]


@pytest.mark.parametrize("cls", [Case, Volunteer, Resource])
def test_topics_name_the_aggregate_and_the_event(cls: type[CoordinationAggregate]) -> None:
    for name in EVENT_NAMES[cls]:
        event_class = getattr(cls, name)
        assert event_class.__qualname__ == f"{cls.__name__}.{name}"
        assert event_class.__module__ == f"domain.{cls.__name__.lower()}"


@pytest.mark.parametrize("history", HISTORIES)
def test_the_scenarios_exercise_every_event(history: Callable[[], list[Any]]) -> None:
    events = history()
    cls = next(c for c in EVENT_NAMES if isinstance(events[0], c.Event))
    assert {type(e).__name__ for e in events} == EVENT_NAMES[cls]


@pytest.mark.parametrize("history", HISTORIES)
def test_every_event_carries_meta_and_its_time(history: Callable[[], list[Any]]) -> None:
    for e in history():
        assert isinstance(e.meta, Meta), type(e).__name__
        assert e.timestamp == e.meta.at


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, Enum):
        raise AssertionError(f"{where}: enum member {value!r}; store .value")
    if isinstance(value, tuple | set | frozenset):
        raise AssertionError(f"{where}: {type(value).__name__}; use a list")
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"{where}: naive datetime"
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{where}: key {key!r}"
            _check_plain(item, f"{where}.{key}")
    else:
        assert value is None or type(value) in (str, int, float, bool, UUID, Meta,
                                                PersonalData), f"{where}: {type(value)}"


@pytest.mark.parametrize("history", HISTORIES)
def test_event_attributes_are_json_friendly(history: Callable[[], list[Any]]) -> None:
    for e in history():
        for key, value in vars(e).items():
            _check_plain(value, f"{type(e).__name__}.{key}")


@pytest.mark.parametrize("make", [whole_case, whole_volunteer, whole_resource,
                                  destroyed_resource, whole_transport])
def test_aggregate_state_is_json_friendly_for_snapshots(make: Callable[[], Any]) -> None:
    aggregate = make()
    for key, value in vars(aggregate).items():
        if key != "_pending_events":
            _check_plain(value, f"{type(aggregate).__name__}.{key}")


@pytest.mark.parametrize("make", [whole_case, whole_volunteer, whole_resource,
                                  destroyed_resource])
def test_replaying_stored_events_rebuilds_the_same_state(make: Callable[[], Any]) -> None:
    original = make()
    events = original.collect_events()
    rebuilt = None
    for e in round_trip(events):
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None and vars(rebuilt) == vars(original)
