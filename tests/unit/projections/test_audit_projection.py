"""The audit trail projection: one readable, non-personal row per event."""

from __future__ import annotations

from uuid import uuid4

import orjson
import pytest
from projection_events import T0, Stream, apply, only, opened, personal

from projections.audit_trail import project, summary
from projections.catalog import AUDIT_TRAIL
from projections.changes import Insert
from projections.records import PLAINTEXT_BEFORE, decode_stored


def test_every_event_becomes_one_row_with_who_when_and_why() -> None:
    case, correlation = Stream("case"), uuid4()
    volunteer = str(uuid4())
    record = case.event("CaseTaken", actor=volunteer, volunteer_id=volunteer,
                        correlation_id=correlation)

    row = only(apply(AUDIT_TRAIL, [record]).rows("audit_events"))

    assert (row["stream_id"], row["version"], row["position"]) == (
        str(case.id), 1, record.position)
    assert (row["actor"], row["occurred_at"], row["type"]) == (volunteer, T0, "CaseTaken")
    assert row["command_id"] == str(record.command_id)
    assert row["correlation_id"] == str(correlation)
    assert row["summary"] == f"taken by volunteer {volunteer}"


def test_personal_data_is_named_by_its_subject_and_never_shown() -> None:
    case = Stream("case")
    subject = uuid4()
    records = [opened(case), case.event("NoteAdded", note=personal(subject))]

    row = only(apply(AUDIT_TRAIL, records).rows("audit_events")[1:])

    assert row["summary"] == "note added [personal data]"
    assert orjson.loads(row["details"]) == {
        "note": {"personal_data_of": str(subject), "erased": False}}


def test_erased_personal_data_is_marked_erased() -> None:
    subject = uuid4()
    record = Stream("volunteer").event(
        "VolunteerRegistered", personal={"subject_id": str(subject), "sealed": False},
        languages=["uk"], time_zone="UTC", roles=["volunteer"])

    details = orjson.loads(only(apply(AUDIT_TRAIL, [record]).rows("audit_events"))["details"])

    assert details["personal"] == {"personal_data_of": str(subject), "erased": True}


def test_advice_is_summarised_without_its_sealed_text_and_counts_resources() -> None:
    record = Stream("case").event("AdviceGiven", personal=personal(uuid4()),
                                  resource_ids=[str(uuid4())])

    assert summary(record) == "advice given [personal data] (1 resource)"


@pytest.mark.parametrize("name", sorted(PLAINTEXT_BEFORE))
def test_no_row_quotes_a_cases_free_text_even_from_an_old_event(name: str) -> None:
    typed_reason = ("reason",) if name == "CaseFlagged" else ()
    plaintext = dict.fromkeys((*PLAINTEXT_BEFORE[name][1], *typed_reason), "ZZ-UNIQUE village")
    record = decode_stored(1, uuid4(), 2, f"domain.case:Case.{name}", orjson.dumps(plaintext))

    (change,) = project(record)

    assert isinstance(change, Insert)
    assert "ZZ-UNIQUE" not in change.values["summary"] + change.values["details"]


def test_long_free_text_is_cut_in_the_summary_but_kept_in_details() -> None:
    text = "x" * 500
    record = Stream("volunteer").event("VolunteerSuspended", reason=text)

    (change,) = project(record)

    assert isinstance(change, Insert)
    assert len(change.values["summary"]) < 250
    assert orjson.loads(change.values["details"])["reason"] == text


def test_an_unknown_event_is_recorded_under_its_type_name() -> None:
    record = Stream("anchorlog").event("SomethingNew", value=3, class_version=2)

    (change,) = project(record)

    assert isinstance(change, Insert)
    assert change.values["summary"] == "SomethingNew"
    assert orjson.loads(change.values["details"]) == {"value": 3}
