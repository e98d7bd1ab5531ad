"""The same person twice: normalising what identifies a person, the duplicate watch, telling
two cases apart and merging them."""

from __future__ import annotations

import pytest
from domain_builders import meta, new_id, open_case, supervisor, taken_case, transport

from domain.base import InvalidCommand
from domain.case import Case
from domain.duplicates import (
    POSSIBLE_DUPLICATE,
    CannotMergeIntoItself,
    NotPossibleDuplicates,
    looks_like_phone,
    match_duplicates,
    normalise_handle,
    normalise_name,
)
from domain.errors import CaseClosed, CaseStillHoldsSeats, NotASupervisor, NotPermitted
from domain.roles import policy_actor
from domain.seats import hold_seats
from domain.vocabulary import CaseOutcome

WATCH = policy_actor(POSSIBLE_DUPLICATE)


def marked(case: Case, other: Case) -> None:
    case.mark_possible_duplicate(other_case_id=other.id, matched_on=["phone"],
                                 meta=meta(actor=WATCH))


@pytest.mark.parametrize("handle", ["@Olena_K", "olena_k", " @OLENA_K ", "@olena _k"])
def test_handles_match_whatever_their_case_at_sign_and_spaces(handle: str) -> None:
    assert normalise_handle(handle) == "olena_k"


def test_names_match_whatever_their_case_spacing_and_diacritics() -> None:
    assert normalise_name("  José  da Silva ", 1980) == normalise_name("JOSE DA SILVA", 1980)
    assert normalise_name("Олена Коваль", 1975) == normalise_name("олена  коваль", 1975)
    assert normalise_name("Olena", 1975) != normalise_name("Olena", 1976)
    assert normalise_name("Olena", None) is None
    assert normalise_name("   ", 1975) is None


@pytest.mark.parametrize(("text", "phone"), [("+380 67 123-45-67", True), ("067 1234567", True),
                                             ("@olena", False), ("123", False)])
def test_a_contact_of_digits_is_taken_for_a_phone_number(text: str, phone: bool) -> None:
    assert looks_like_phone(text) is phone


def test_a_match_marks_both_cases_with_stable_command_ids() -> None:
    opened, other, trigger_id = new_id(), new_id(), new_id()
    commands = match_duplicates(opened, {other: {"phone", "handle"}}, meta(), trigger_id)
    assert {(c.case_id, c.other_case_id) for c in commands} == {(opened, other),
                                                               (other, opened)}
    assert all(c.matched_on == ("handle", "phone") for c in commands)
    again = match_duplicates(opened, {other: {"handle", "phone"}}, meta(), trigger_id)
    assert [c.meta.command_id for c in commands] == [c.meta.command_id for c in again]
    assert len({c.meta.command_id for c in commands}) == 2


def test_a_case_never_matches_itself() -> None:
    opened = new_id()
    assert match_duplicates(opened, {opened: {"phone"}}, meta(), new_id()) == []


def test_only_a_policy_marks_possible_duplicates() -> None:
    case, other = open_case(), open_case()
    with pytest.raises(NotPermitted):
        case.mark_possible_duplicate(other_case_id=other.id, matched_on=["phone"],
                                     meta=meta())


def test_a_supervisor_tells_two_cases_apart_and_they_are_not_marked_again() -> None:
    case, other, boss = open_case(), open_case(), supervisor()
    marked(case, other)
    assert not case.may_be_marked_duplicate_of(other.id)
    case.tell_apart(other_case_id=other.id, by=boss, meta=meta())
    assert case.possible_duplicates == []
    assert not case.may_be_marked_duplicate_of(other.id)


def test_telling_apart_needs_a_supervisor_and_a_marked_pair() -> None:
    case, holder = taken_case()
    other = open_case()
    with pytest.raises(NotPossibleDuplicates):
        case.tell_apart(other_case_id=other.id, by=supervisor(), meta=meta())
    marked(case, other)
    with pytest.raises(NotASupervisor):
        case.tell_apart(other_case_id=other.id, by=holder, meta=meta())


def test_a_merge_closes_one_case_as_merged_into_the_survivor_and_links_both() -> None:
    survivor, merged, boss = open_case(), open_case(), supervisor()
    marked(survivor, merged)
    marked(merged, survivor)
    merged.merge_into(survivor=survivor, by=boss, meta=meta())
    survivor.take_in(merged=merged, by=boss, meta=meta())
    assert merged.outcome is CaseOutcome.MERGED and not merged.is_active
    assert merged.merged_into == survivor.id
    assert survivor.merged_case_ids == [merged.id] and survivor.is_active
    assert survivor.possible_duplicates == [] and merged.possible_duplicates == []


def test_a_merge_needs_a_supervisor_two_open_cases_and_no_seats_held() -> None:
    survivor, (merged, holder) = open_case(), taken_case()
    with pytest.raises(NotASupervisor):
        merged.merge_into(survivor=survivor, by=holder, meta=meta())
    with pytest.raises(CannotMergeIntoItself):
        merged.merge_into(survivor=merged, by=supervisor(), meta=meta())
    hold_seats(case=merged, transport=transport(), hold_id=new_id(), by=holder, meta=meta())
    with pytest.raises(CaseStillHoldsSeats):
        merged.merge_into(survivor=survivor, by=supervisor(), meta=meta())
    closed = open_case()
    closed.merge_into(survivor=survivor, by=supervisor(), meta=meta())
    with pytest.raises(CaseClosed):
        open_case().merge_into(survivor=closed, by=supervisor(), meta=meta())


def test_the_survivor_takes_in_only_a_case_merged_into_it() -> None:
    with pytest.raises(NotPossibleDuplicates):
        open_case().take_in(merged=open_case(), by=supervisor(), meta=meta())


def test_nobody_closes_a_case_as_merged_without_a_merge() -> None:
    case, holder = taken_case()
    with pytest.raises(InvalidCommand, match=r"cases\.merge"):
        case.close(outcome=CaseOutcome.MERGED, by=holder, meta=meta())
