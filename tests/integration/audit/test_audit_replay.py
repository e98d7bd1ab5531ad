"""Replaying real case histories: event by event, as of a version or a time, what changed,
and the resources relied on as they stood then. Same tests on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from audit_world import (
    AUDITOR,
    PostgresStore,
    SQLiteStore,
    Story,
    access_events,
    grant,
    queries,
    runtime,
    shown,
    tell_a_case,
)
from eventsourcing.domain import event

from bench.audit_replay import Scenario, long_case
from domain.aggregate import CoordinationAggregate
from domain.base import InvalidCommand, Meta, NotFound, PersonalData
from services.audit.render import ERASED, REDACTED, Disclosure
from services.audit.replay import Replay
from services.bootstrap import Runtime
from services.runtime.writer import Submission

__all__ = ["runtime"]


class Parcel(CoordinationAggregate):
    """A throwaway aggregate: the audit works on any aggregate, not only the domain's."""

    @event("ParcelPacked")
    def __init__(self, id: UUID, sender: PersonalData, meta: Meta) -> None:
        self.sender = sender
        self._where = "depot"

    @event("ParcelMoved")
    def move(self, to: str, meta: Meta) -> None:
        self._where = to


def a_case_of_120_events(runtime: Runtime) -> UUID:
    """A case long enough for snapshots at 50 and 100 (the stores' interval)."""
    scenario = Scenario(runtime)
    worker = scenario.volunteer("Olena")
    resource = scenario.verified_resource(worker, scenario.volunteer("Taras", ["fact_checker"]))
    return long_case(scenario, worker, resource, events=120)


def unsealed(runtime: Runtime) -> Disclosure:
    """Personal data shown, as to an auditor with a grant."""
    return Disclosure(True, runtime.app.sealer.revealer(), lambda _: False)


class ReplayContract:
    @pytest.fixture
    def story(self, runtime: Runtime) -> Story:
        return tell_a_case(runtime)

    def test_history_replays_a_case_event_by_event_with_the_state_after_each(
            self, runtime: Runtime, story: Story) -> None:
        history = queries(runtime).history(story.case_id, AUDITOR, "review").result

        assert [e.type for e in history.entries] == [
            "CaseOpened", "CaseTaken", "AdviceGiven", "NoteAdded", "CaseFlagged"]
        assert [e.version for e in history.entries] == [1, 2, 3, 4, 5]
        positions = [e.position or 0 for e in history.entries]
        assert positions == sorted(positions)
        taken = history.entries[1]
        assert (taken.state["status"], taken.state["assignee_id"]) == (
            "assigned", str(story.worker))
        assert [c.path for c in taken.changes] == ["status", "assignee_id", "assigned_at"]
        assert history.entries[2].state["resource_ids"] == [str(story.resource)]
        assert history.entries[2].data["personal"] == REDACTED  # the advice is sealed
        assert all(len(e.chain_hash or "") == 64 for e in history.entries)
        assert taken.meta is not None and taken.meta.actor == str(story.worker)

    def test_personal_data_is_redacted_for_an_auditor_without_a_grant(
            self, runtime: Runtime, story: Story) -> None:
        viewed = queries(runtime).history(story.case_id, AUDITOR, "review")

        final = viewed.result.entries[-1].state
        assert viewed.result.personal_data == "redacted"
        assert (final["personal"], final["notes"]) == (REDACTED, [REDACTED])
        assert "Iryna" not in viewed.result.model_dump_json()
        assert viewed.record.subject_ids == []

    def test_a_granted_auditor_sees_personal_data_and_the_view_is_on_record(
            self, runtime: Runtime, story: Story) -> None:
        grant(story)

        history = shown(runtime, queries(runtime).history(story.case_id, AUDITOR, "complaint"))

        final = history.entries[-1].state
        assert final["personal"]["name"] == "Iryna"
        assert final["notes"] == [{"text": "Iryna's son has asthma"}]
        recorded = [(type(e).__name__, getattr(e, "viewer", None))
                    for e in access_events(runtime, story.case_id)]
        assert recorded == [("AccessLogOpened", None), ("AuditAccessGranted", None),
                            ("PersonalDataViewed", AUDITOR), ("HistoryViewed", AUDITOR)]
        viewed = access_events(runtime, story.case_id)[2]
        assert (viewed.subject_ids, viewed.purpose) == ([story.person_id], "complaint")

    def test_another_auditor_still_sees_redactions(self, runtime: Runtime, story: Story) -> None:
        grant(story, auditor="auditor-2")

        history = queries(runtime).history(story.case_id, AUDITOR, "review").result

        assert history.entries[-1].state["personal"] == REDACTED

    def test_as_of_a_version_is_the_state_right_after_it(self, runtime: Runtime,
                                                         story: Story) -> None:
        history = queries(runtime).history(story.case_id, AUDITOR, "review").result

        for version in (1, 2, 3, 5):
            state = queries(runtime).as_of(story.case_id, AUDITOR, "review",
                                           version=version).result
            assert (state.version, state.exists) == (version, True)
            assert state.state == history.entries[version - 1].state
        before = queries(runtime).as_of(story.case_id, AUDITOR, "review", version=0).result
        assert (before.exists, before.state, before.type) == (False, None, "Case")
        beyond = queries(runtime).as_of(story.case_id, AUDITOR, "review", version=99).result
        assert (beyond.version, beyond.requested_version) == (5, 99)

    def test_as_of_a_time_is_the_state_recorded_at_or_before_it(self, runtime: Runtime,
                                                                 story: Story) -> None:
        def version_at(label: str, shift: float = 0) -> tuple[bool, int]:
            at = story.times[label] + timedelta(seconds=shift)
            found = queries(runtime).as_of(story.case_id, AUDITOR, "review", at=at).result
            return found.exists, found.version

        assert version_at("before") == (False, 0)
        assert version_at("opened") == (True, 1)
        assert version_at("opened", 0.5) == (True, 1)
        assert version_at("taken") == (True, 2)
        assert version_at("advised", -0.5) == (True, 2)
        assert version_at("noted") == (True, 4)
        assert version_at("flagged", 3600) == (True, 5)

    def test_as_of_needs_exactly_one_of_version_and_time(self, runtime: Runtime,
                                                         story: Story) -> None:
        with pytest.raises(InvalidCommand):
            queries(runtime).as_of(story.case_id, AUDITOR, "review")

    def test_a_long_history_is_served_from_snapshots_with_the_same_answer(
            self, runtime: Runtime) -> None:
        case_id = a_case_of_120_events(runtime)

        history = queries(runtime).history(case_id, AUDITOR, "review").result

        assert runtime.app.snapshots is not None
        assert [s.originator_version for s in runtime.app.snapshots.get(case_id)] == [50, 100]
        for version in (49, 50, 51, 100, 101, 120):
            state = queries(runtime).as_of(case_id, AUDITOR, "review", version=version).result
            assert state.state == history.entries[version - 1].state

    def test_one_replay_sliding_through_a_long_case_decodes_each_snapshot_once(
            self, runtime: Runtime) -> None:
        case_id = a_case_of_120_events(runtime)
        history = Replay(runtime.app).history(case_id, unsealed(runtime))
        replay = Replay(runtime.app)
        loads: list[int] = []
        load = replay._load_snapshot
        replay._load_snapshot = lambda stream, version: (  # type: ignore[method-assign]
            loads.append(version) or load(stream, version))

        for version in (120, 51, 100, 49, 120, 50, 101, 51):
            state = replay.as_of_version(case_id, version, unsealed(runtime))
            assert state.state == history.entries[version - 1].state, version
        assert loads == [100, 50]

    def test_every_stored_value_type_decodes_to_an_immutable_value(
            self, runtime: Runtime) -> None:
        """The decoded snapshots a replay keeps share these values between the aggregates
        it folds on (services.audit.snapshots.thawed copies only dicts and lists)."""
        for kind in runtime.app.mapper.transcoder.types:  # type: ignore[attr-defined]
            frozen = getattr(kind, "__dataclass_params__", None)
            assert kind in (UUID, datetime, date, Decimal) or (frozen and frozen.frozen), kind

    def test_diff_names_the_fields_that_changed_and_the_events_between(
            self, runtime: Runtime, story: Story) -> None:
        diff = queries(runtime).diff(story.case_id, AUDITOR, "review", 1, 3).result

        assert (diff.from_version, diff.to_version) == (1, 3)
        assert [c.path for c in diff.changes] == ["status", "assignee_id", "assigned_at",
                                                  "resource_ids", "journal",
                                                  "last_contact_at"]  # advice is contact
        assert [c.added for c in diff.changes if c.path == "resource_ids"] == [
            [str(story.resource)]]
        assert [e.type for e in diff.events] == ["CaseTaken", "AdviceGiven"]

    def test_diff_between_times_and_from_before_the_start(self, runtime: Runtime,
                                                          story: Story) -> None:
        by_time = queries(runtime).diff(story.case_id, AUDITOR, "review",
                                        story.times["taken"], story.times["noted"]).result
        from_start = queries(runtime).diff(story.case_id, AUDITOR, "review", 0, 1).result

        assert (by_time.from_version, by_time.to_version) == (2, 4)
        assert [c.path for c in by_time.changes] == ["resource_ids", "journal", "notes",
                                                     "last_contact_at"]
        assert from_start.changes[0].change == "added"
        with pytest.raises(InvalidCommand):
            queries(runtime).diff(story.case_id, AUDITOR, "review", 3, 1)

    def test_resources_show_their_verification_when_each_event_relied_on_them(
            self, runtime: Runtime, story: Story) -> None:
        report = queries(runtime).resources(story.case_id, AUDITOR, "review").result

        advice, flag = report.uses
        assert (advice.event_type, advice.resource_id) == ("AdviceGiven", story.resource)
        assert advice.verification["verification"] == "verified"
        assert advice.verification["status"] == "available"
        assert (advice.usable, advice.unusable_reason) == (True, None)
        assert (flag.event_type, flag.verification["status"]) == ("CaseFlagged", "unsafe")
        assert (flag.usable, flag.unusable_reason) == (False, "unsafe")
        assert advice.state is not None and advice.state["contact"] == REDACTED

    def test_a_missing_stream_is_not_found(self, runtime: Runtime, story: Story) -> None:
        for ask in (lambda q: q.history(uuid4(), AUDITOR, "r"),
                    lambda q: q.as_of(uuid4(), AUDITOR, "r", version=1),
                    lambda q: q.as_of(uuid4(), AUDITOR, "r", at=story.times["taken"]),
                    lambda q: q.diff(uuid4(), AUDITOR, "r", 0, 1),
                    lambda q: q.resources(uuid4(), AUDITOR, "r")):
            with pytest.raises(NotFound):
                ask(queries(runtime))

    def test_any_aggregate_can_be_replayed(self, runtime: Runtime) -> None:
        parcel_id, sender = uuid4(), uuid4()
        scenario = Scenario(runtime)

        def pack(_: Any, uow: Any, meta: Meta) -> UUID:
            parcel = Parcel(id=parcel_id, sender=PersonalData.of(sender, name="Oksana"),
                            meta=meta)
            uow.add(parcel)
            return parcel.id

        def move(_: Any, uow: Any, meta: Meta) -> UUID:
            parcel = uow.get(Parcel, parcel_id)
            parcel.move(to="Przemysl", meta=meta)
            return parcel_id

        for handler in (pack, move):
            meta_ = Meta(actor="tester", at=scenario.tick(), command_id=uuid4(),
                         correlation_id=uuid4())
            runtime.writer.execute_now([Submission(command_id=meta_.command_id, name="test",
                                                   payload=None, meta=meta_, handler=handler)])
        runtime.app.keys.erase(sender)

        history = queries(runtime).history(parcel_id, AUDITOR, "review").result

        assert history.type == "Parcel"
        assert [e.state for e in history.entries] == [
            {"sender": ERASED, "where": "depot"}, {"sender": ERASED, "where": "Przemysl"}]


class TestReplayOnSQLite(SQLiteStore, ReplayContract):
    pass


class TestReplayOnPostgres(PostgresStore, ReplayContract):
    pass
