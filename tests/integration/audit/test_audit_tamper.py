"""Tamper evidence: a byte changed with SQL behind the application's back is found and named;
anchors catch even a rewritten chain; deletions and doctored snapshots are found too."""

from __future__ import annotations

from uuid import uuid4

import pytest
from audit_world import (
    PostgresStore,
    SQLiteStore,
    Story,
    change_one_byte,
    execute_sql,
    queries,
    runtime,
    stored_state,
    stream_key,
    tell_a_case,
)

from domain.access import ANCHOR_LOG_ID, NothingToAnchor
from domain.base import NotFound
from services.audit.bench import Scenario, long_case
from services.audit.replay import HistoryUnreadable
from services.audit.store import StoreReader
from services.audit.verify import verify_store, verify_stream
from services.bootstrap import Runtime
from services.store import GENESIS, chain_hash

__all__ = ["runtime"]
ADVICE = 3  # the case's version holding "stay put, wait for the convoy"


def anchor(story: Story) -> None:
    story.run("audit.anchor", "auditor-1")


def position_of(runtime: Runtime, story: Story, version: int) -> int | None:
    return StoreReader(runtime.app).stream_index(story.case_id)[version].position


def rechain(runtime: Runtime, story: Story) -> None:
    """What a careful intruder would do next: rewrite the stream's chain rows to match."""
    previous = GENESIS
    for event in runtime.app.recorder.select_events(story.case_id):
        previous = chain_hash(previous, event)
        execute_sql(runtime, "UPDATE event_chain SET hash = ? WHERE originator_id = ? AND "
                    "originator_version = ?", (previous, stream_key(runtime, story.case_id),
                                               event.originator_version))


class TamperContract:
    @pytest.fixture
    def story(self, runtime: Runtime) -> Story:
        return tell_a_case(runtime)

    def test_an_untouched_store_verifies(self, runtime: Runtime, story: Story) -> None:
        store = verify_store(runtime.app, snapshots=True)
        stream = verify_stream(runtime.app, story.case_id)

        assert (store.ok, store.first_break, store.breaks) == (True, None, [])
        assert store.events_checked == StoreReader(runtime.app).max_position()
        assert (stream.ok, stream.events_checked, stream.streams_checked) == (True, 5, 1)

    def test_a_byte_changed_with_sql_is_detected_and_the_event_is_named(
            self, runtime: Runtime, story: Story) -> None:
        recorded = StoreReader(runtime.app).stream_index(story.case_id)[ADVICE].hash
        change_one_byte(runtime, story.case_id, ADVICE, b"stay put", b"stay out")

        for report in (verify_store(runtime.app), verify_stream(runtime.app, story.case_id)):
            assert not report.ok
            first = report.first_break
            assert first is not None
            assert (first.kind, first.stream_id, first.version) == (
                "altered", story.case_id, ADVICE)
            assert first.position == position_of(runtime, story, ADVICE)
            assert recorded is not None and first.expected == recorded.hex()
            assert first.found != first.expected
            assert len(report.breaks) == 1  # the events after it still link to it

    def test_an_anchor_is_recorded_and_checked_against_the_recomputed_range(
            self, runtime: Runtime, story: Story) -> None:
        top = StoreReader(runtime.app).max_position()
        anchor(story)
        story.run("cases.add_note", str(story.worker), case_id=story.case_id, text="later")
        anchor(story)

        anchors = [e for e in runtime.app.events.get(ANCHOR_LOG_ID)
                   if type(e).__name__ == "LogAnchored"]
        report = verify_store(runtime.app)

        assert [(a.from_position, a.to_position) for a in anchors] == [
            (1, top), (top + 1, top + 3)]  # the anchor log's own two events, then the note
        assert report.ok
        assert [(a.ok, a.recorded) for a in report.anchors] == [(True, a.digest) for a in anchors]
        with pytest.raises(RuntimeError, match=NothingToAnchor.__name__):
            story.scenario.run_all([("audit.anchor", "auditor-1", {"to_position": top})])

    def test_a_rewritten_chain_passes_the_chain_check_but_not_the_anchor(
            self, runtime: Runtime, story: Story) -> None:
        anchor(story)
        change_one_byte(runtime, story.case_id, ADVICE, b"stay put", b"stay out")
        rechain(runtime, story)

        report = verify_store(runtime.app)

        assert report.breaks == []
        assert not report.ok
        [broken] = report.anchors
        assert not broken.ok and broken.recomputed != broken.recorded

    def test_a_deleted_event_is_detected(self, runtime: Runtime, story: Story) -> None:
        key = stream_key(runtime, story.case_id)
        execute_sql(runtime, "DELETE FROM {events} WHERE originator_id = ? AND "
                    "originator_version IN (2, 5)", (key,))

        report = verify_store(runtime.app)

        kinds = {(b.kind, b.version) for b in report.breaks}
        assert kinds == {("missing", 2), ("orphaned", 2), ("orphaned", 5)}
        assert report.first_break is not None and report.first_break.kind == "missing"

    def test_a_doctored_snapshot_is_detected(self, runtime: Runtime) -> None:
        scenario = Scenario(runtime)
        worker = scenario.volunteer("Olena")
        resource = scenario.verified_resource(worker, scenario.volunteer("Taras",
                                                                         ["fact_checker"]))
        case_id = long_case(scenario, worker, resource, events=60)
        assert b"Kharkiv" in stored_state(runtime, case_id, 50, table="{snapshots}")
        change_one_byte(runtime, case_id, 50, b"Kharkiv", b"Kharkov", table="{snapshots}")

        stream = verify_stream(runtime.app, case_id)
        store = verify_store(runtime.app, snapshots=True)

        for report in (stream, store):
            assert not report.ok and report.breaks == []
            assert [(m.stream_id, m.version) for m in report.snapshot_mismatches] == [
                (case_id, 50)]

    def test_an_event_that_no_longer_parses_cannot_be_replayed(
            self, runtime: Runtime, story: Story) -> None:
        change_one_byte(runtime, story.case_id, ADVICE, b"{", b"[")

        with pytest.raises(HistoryUnreadable):
            queries(runtime).history(story.case_id, "auditor-1", "review")
        assert not verify_stream(runtime.app, story.case_id).ok

    def test_verifying_a_missing_stream_is_not_found(self, runtime: Runtime) -> None:
        with pytest.raises(NotFound):
            verify_stream(runtime.app, uuid4())


class TestTamperOnSQLite(SQLiteStore, TamperContract):
    pass


class TestTamperOnPostgres(PostgresStore, TamperContract):
    pass
