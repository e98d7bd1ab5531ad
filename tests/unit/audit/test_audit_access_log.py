"""The access log's rules: grants by someone else, for a time; views of personal data only
under a grant; anchors that cover the store without gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.access import (
    ANCHOR_LOG_ID,
    AccessLog,
    AccessNotGranted,
    AnchorLog,
    AnchorOutOfSequence,
    CannotGrantToSelf,
    GrantNotHeld,
    InvalidAnchor,
    InvalidGrant,
    NothingToAnchor,
    access_log_id,
)
from domain.base import Meta
from domain.roles import Authority, Role

CASE = UUID(int=42)
T0 = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
DIGEST = "ab" * 32
SUPERVISOR = Authority(actor="supervisor-1", roles=frozenset({Role.SUPERVISOR}))


def meta(minutes: float = 0, actor: str = "supervisor-1") -> Meta:
    command_id = uuid4()
    return Meta(actor=actor, at=T0 + timedelta(minutes=minutes), command_id=command_id,
                correlation_id=command_id)


def granted(until_minutes: float | None = 60) -> AccessLog:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())
    until = None if until_minutes is None else T0 + timedelta(minutes=until_minutes)
    log.grant(auditor="auditor-1", purpose="complaint 17", until=until, by=SUPERVISOR,
              meta=meta(1))
    return log


def event_names(log: AccessLog | AnchorLog) -> list[str]:
    return [type(e).__name__ for e in log.collect_events()]


def test_each_stream_has_its_own_access_log_id() -> None:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())

    assert log.id == access_log_id(CASE) != access_log_id(UUID(int=43))
    assert log.id != CASE


def test_an_auditor_sees_personal_data_only_while_granted() -> None:
    log = granted(until_minutes=60)

    assert not log.may_see_personal_data("auditor-1", T0)  # before the grant
    assert log.may_see_personal_data("auditor-1", T0 + timedelta(minutes=30))
    assert not log.may_see_personal_data("auditor-1", T0 + timedelta(minutes=60))
    assert not log.may_see_personal_data("auditor-2", T0 + timedelta(minutes=30))
    assert event_names(log) == ["AccessLogOpened", "AuditAccessGranted"]


def test_nobody_grants_access_to_themselves() -> None:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())

    with pytest.raises(CannotGrantToSelf):
        log.grant(auditor="supervisor-1", purpose="curious", until=None, by=SUPERVISOR,
                  meta=meta(1))


@pytest.mark.parametrize(("auditor", "purpose", "until"), [
    ("", "complaint", None), ("auditor-1", " ", None), ("auditor-1", "complaint", T0)])
def test_a_grant_needs_an_auditor_a_purpose_and_an_end_after_its_start(
        auditor: str, purpose: str, until: datetime | None) -> None:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())

    with pytest.raises(InvalidGrant):
        log.grant(auditor=auditor, purpose=purpose, until=until, by=SUPERVISOR, meta=meta())


def test_a_revoked_grant_no_longer_shows_personal_data() -> None:
    log = granted(until_minutes=None)

    log.revoke(auditor="auditor-1", reason="review done", by=SUPERVISOR, meta=meta(5))

    assert not log.may_see_personal_data("auditor-1", T0 + timedelta(minutes=6))
    with pytest.raises(GrantNotHeld):
        log.revoke(auditor="auditor-1", reason="again", by=SUPERVISOR, meta=meta(7))


def test_a_view_of_personal_data_is_recorded_only_under_a_current_grant() -> None:
    log = granted(until_minutes=60)
    person = uuid4()

    log.record_personal_data_view(viewer="auditor-1", purpose="complaint 17", view="history",
                                  subject_ids=[person, person], meta=meta(10, "auditor-1"))
    with pytest.raises(AccessNotGranted):
        log.record_personal_data_view(viewer="auditor-1", purpose="late", view="history",
                                      subject_ids=[person], meta=meta(61, "auditor-1"))

    viewed = log.collect_events()[-1]
    assert type(viewed).__name__ == "PersonalDataViewed"
    assert viewed.subject_ids == [person]  # type: ignore[attr-defined]
    assert viewed.basis == "granted_auditor"  # type: ignore[attr-defined]
    assert log.personal_data_views == 1


def test_caseworkers_views_are_recorded_with_their_basis_and_need_no_grant() -> None:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())

    log.record_need_to_know_view(viewer="volunteer-7", basis="assignee", purpose="casework",
                                 view="case_detail", subject_ids=[uuid4()], meta=meta(1))

    assert log.personal_data_views == 1


def test_an_auditors_view_records_whose_data_it_showed_then_the_view() -> None:
    log = granted(until_minutes=60)
    log.collect_events()

    log.record_view(viewer="auditor-1", purpose="complaint 17", view="export",
                    subject_ids=[uuid4()], meta=meta(10, "auditor-1"))
    log.record_view(viewer="auditor-2", purpose="spot check", view="history", subject_ids=[],
                    meta=meta(11, "auditor-2"))

    assert event_names(log) == ["PersonalDataViewed", "HistoryViewed", "HistoryViewed"]
    with pytest.raises(AccessNotGranted):
        log.record_view(viewer="auditor-2", purpose="spot check", view="history",
                        subject_ids=[uuid4()], meta=meta(12, "auditor-2"))


def test_history_views_are_counted_with_who_looked_last() -> None:
    log = AccessLog.open_for(stream_id=CASE, meta=meta())

    log.record_history_view(viewer="auditor-2", purpose="spot check", view="as_of",
                            meta=meta(3, "auditor-2"))

    assert (log.views, log.last_viewed_by) == (1, "auditor-2")
    assert log.last_viewed_at == T0 + timedelta(minutes=3)


def test_anchors_cover_the_store_one_range_after_another() -> None:
    anchors = AnchorLog.start(meta=meta())
    anchors.anchor(from_position=1, to_position=100, digest=DIGEST, meta=meta(1))
    anchors.anchor(from_position=101, to_position=130, digest=DIGEST, meta=meta(2))

    assert anchors.id == ANCHOR_LOG_ID
    assert (anchors.next_position, anchors.anchors, anchors.last_digest) == (131, 2, DIGEST)
    with pytest.raises(AnchorOutOfSequence):
        anchors.anchor(from_position=100, to_position=140, digest=DIGEST, meta=meta(3))
    with pytest.raises(NothingToAnchor):
        anchors.anchor(from_position=131, to_position=130, digest=DIGEST, meta=meta(3))
    with pytest.raises(InvalidAnchor):
        anchors.anchor(from_position=131, to_position=140, digest="not hex", meta=meta(3))
