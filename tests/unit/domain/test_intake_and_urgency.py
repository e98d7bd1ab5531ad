"""The intake survey and the urgency that follows from its answers."""

from __future__ import annotations

import pytest
from domain_builders import intake, new_id

from domain.errors import InvalidIntake
from domain.intake import assess_urgency
from domain.vocabulary import Urgency


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (dict(safe_now=False, children_ages=[4]), Urgency.CRITICAL),
        (dict(safe_now=False, mobility_needs=True), Urgency.CRITICAL),
        (dict(safe_now=False, medical_needs=True), Urgency.CRITICAL),
        (dict(safe_now=False, needs_medicine=True), Urgency.CRITICAL),
        (dict(safe_now=False), Urgency.HIGH),
        (dict(safe_now=False, pets=2, needs_food=True), Urgency.HIGH),
        (dict(safe_now=True, medical_needs=True), Urgency.HIGH),
        (dict(safe_now=True, needs_medicine=True, children_ages=[3]), Urgency.HIGH),
        (dict(safe_now=True, children_ages=[9, 12]), Urgency.MEDIUM),
        (dict(safe_now=True, mobility_needs=True), Urgency.MEDIUM),
        (dict(safe_now=True, needs_food=True), Urgency.MEDIUM),
        (dict(safe_now=True, needs_clothes=True), Urgency.MEDIUM),
        (dict(safe_now=True), Urgency.LOW),
        (dict(safe_now=True, adults=3, pets=1), Urgency.LOW),
    ],
)
def test_urgency_follows_from_the_answers(answers: dict[str, object], expected: Urgency) -> None:
    assert assess_urgency(intake(**answers)) is expected


def test_an_unsafe_person_is_never_less_urgent_than_a_safe_one_with_the_same_needs() -> None:
    order = [Urgency.LOW, Urgency.MEDIUM, Urgency.HIGH, Urgency.CRITICAL]
    for needs in ({}, {"children_ages": [1]}, {"medical_needs": True}, {"needs_food": True}):
        unsafe = assess_urgency(intake(safe_now=False, **needs))
        safe = assess_urgency(intake(safe_now=True, **needs))
        assert order.index(unsafe) >= order.index(safe)


def test_alone_means_one_adult_and_no_children() -> None:
    assert intake(adults=1).alone
    assert not intake(adults=2).alone
    assert not intake(adults=1, children_ages=[5]).alone


@pytest.mark.parametrize(
    "answers",
    [
        dict(adults=-1), dict(pets=-1), dict(adults=0), dict(children_ages=[18]),
        dict(children_ages=[-1]), dict(region=" "), dict(destination=""),
        dict(contact_channel=""),
    ],
)
def test_contradictory_answers_are_rejected(answers: dict[str, object]) -> None:
    with pytest.raises(InvalidIntake):
        intake(**answers).validate()


def test_a_child_alone_is_a_valid_case() -> None:
    intake(adults=0, children_ages=[15]).validate()


def test_names_handles_places_and_health_go_into_personal_data() -> None:
    person = new_id()
    answers = intake(health_details="insulin dependent", notes="afraid of checkpoints")
    personal = answers.personal_data(person)
    readable = answers.readable_answers()
    assert personal.subject_id == person
    assert personal.fields == {"name": "Iryna", "contact_handle": "@iryna_k",
                               "exact_location": "Saltivka, block 12",
                               "health_details": "insulin dependent",
                               "notes": "afraid of checkpoints"}
    assert not set(personal.fields or {}) & set(readable)
    assert readable["children_ages"] == [] and isinstance(readable["languages"], list)
