"""Tamper evidence: a byte changed with SQL behind the application's back is found and named;
anchors catch even a rewritten chain; deletions and doctored snapshots are found too."""

from __future__ import annotations

import csv
import io
from uuid import uuid4

import pytest
from audit_world import (
    PostgresStore,
    SQLiteStore,
    Story,
    alter_the_advice,
    change_one_byte,
    execute_sql,
    queries,
    runtime,
    stored_state,
    stream_key,
    tell_a_case,
)

from bench.audit_replay import Scenario, long_case
from domain.access import ANCHOR_LOG_ID, NothingToAnchor
from domain.base import NotFound
from services.audit.replay import CheckedChains, HistoryUnreadable
from services.audit.store import StoreReader
from services.audit.verify import verify_store, verify_stream
from services.bootstrap import Runtime
from services.storage.recorders import GENESIS, chain_hash

__all__ = ["runtime"]
ADVICE = 3  # the case's version holding the advice relying on the route


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
        alter_the_advice(runtime, story, ADVICE)

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

    def test_history_of_an_untouched_stream_says_its_chain_is_intact(
            self, runtime: Runtime, story: Story) -> None:
        history = queries(runtime).history(story.case_id, "auditor-1", "review").result

        assert (history.chain.intact, history.chain.events_checked) == (True, 5)
        assert (history.chain.first_break, history.chain.breaks) == (None, [])

    def test_history_of_a_tampered_stream_says_broken_naming_the_event(
            self, runtime: Runtime, story: Story) -> None:
        recorded = StoreReader(runtime.app).stream_index(story.case_id)[ADVICE].hash
        alter_the_advice(runtime, story, ADVICE)

        history = queries(runtime).history(story.case_id, "auditor-1", "review").result

        assert history.entries[ADVICE - 1].data["resource_ids"] != [str(story.resource)]
        first = history.chain.first_break
        assert not history.chain.intact and first is not None
        assert (first.kind, first.stream_id, first.version) == ("altered", story.case_id, ADVICE)
        assert first.position == position_of(runtime, story, ADVICE)
        assert recorded is not None and first.expected == recorded.hex()
        assert [b.version for b in history.chain.breaks] == [ADVICE]

    def test_a_history_window_checks_the_events_it_returns_and_their_link(
            self, runtime: Runtime, story: Story) -> None:
        alter_the_advice(runtime, story, ADVICE)
        history = queries(runtime).history

        after = history(story.case_id, "auditor-1", "review", from_version=ADVICE + 1).result
        at = history(story.case_id, "auditor-1", "review", from_version=ADVICE,
                     to_version=ADVICE).result

        assert (after.chain.intact, after.chain.events_checked) == (True, 2)
        assert (at.chain.intact, at.chain.events_checked) == (False, 1)
        assert [(b.kind, b.version) for b in at.chain.breaks] == [("altered", ADVICE)]

    def test_history_says_when_its_last_event_was_deleted(
            self, runtime: Runtime, story: Story) -> None:
        execute_sql(runtime, "DELETE FROM {events} WHERE originator_id = ? AND "
                    "originator_version = 5", (stream_key(runtime, story.case_id),))

        history = queries(runtime).history(story.case_id, "auditor-1", "review").result

        assert [e.version for e in history.entries] == [1, 2, 3, 4]
        assert not history.chain.intact
        assert [(b.kind, b.version) for b in history.chain.breaks] == [("orphaned", 5)]

    def test_as_of_says_whether_the_events_its_state_is_made_of_are_intact(
            self, runtime: Runtime, story: Story) -> None:
        alter_the_advice(runtime, story, ADVICE)
        as_of = queries(runtime).as_of

        before = as_of(story.case_id, "auditor-1", "review", version=ADVICE - 1).result
        since = as_of(story.case_id, "auditor-1", "review", at=story.times["noted"]).result

        assert (before.chain.intact, before.chain.events_checked) == (True, ADVICE - 1)
        assert since.version == 4 and not since.chain.intact
        first = since.chain.first_break
        assert first is not None and (first.kind, first.version) == ("altered", ADVICE)

    def test_as_of_hashes_again_only_what_it_has_not_found_intact_lately(
            self, runtime: Runtime, story: Story) -> None:
        as_of = queries(runtime).as_of

        first = as_of(story.case_id, "auditor-1", "review", version=ADVICE).result
        earlier = as_of(story.case_id, "auditor-1", "review", version=ADVICE - 1).result
        later = as_of(story.case_id, "auditor-1", "review", version=5).result

        assert (first.chain.events_checked, first.chain.checked_earlier) == (ADVICE, 0)
        assert (earlier.chain.events_checked, earlier.chain.checked_earlier) == (0, ADVICE - 1)
        assert (later.chain.events_checked, later.chain.checked_earlier) == (5 - ADVICE, ADVICE)
        assert first.chain.intact and earlier.chain.intact and later.chain.intact

    def test_a_change_behind_a_checked_prefix_is_found_once_the_check_has_aged(
            self, runtime: Runtime, story: Story) -> None:
        clock = [1000.0]
        reader = queries(runtime)
        reader.replay.checked = CheckedChains(seconds=60, clock=lambda: clock[0])
        assert reader.as_of(story.case_id, "auditor-1", "review", version=5).result.chain.intact
        alter_the_advice(runtime, story, ADVICE)

        clock[0] += 59
        within = reader.as_of(story.case_id, "auditor-1", "review", version=5).result
        clock[0] += 2
        aged = reader.as_of(story.case_id, "auditor-1", "review", version=5).result

        assert within.chain.intact and within.chain.checked_earlier == 5
        assert not aged.chain.intact and aged.chain.checked_earlier == 0
        assert aged.chain.first_break is not None and aged.chain.first_break.version == ADVICE

    def test_a_csv_export_of_a_tampered_stream_names_the_broken_event(
            self, runtime: Runtime, story: Story) -> None:
        alter_the_advice(runtime, story, ADVICE)

        document = queries(runtime).export(story.case_id, "auditor-1", "review", "csv").result
        rows = list(csv.DictReader(io.StringIO(document.decode())))

        assert [r["chain"].split(":")[0] for r in rows] == [
            "intact", "intact", "altered", "intact", "intact"]

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
        alter_the_advice(runtime, story, ADVICE)
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
