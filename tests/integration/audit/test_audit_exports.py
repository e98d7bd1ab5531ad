"""Exports as JSON, CSV and printable HTML honour need-to-know and erasure."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from audit_world import (
    AUDITOR,
    SUPERVISOR,
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

from services.audit.render import ERASED, REDACTED
from services.bootstrap import Runtime

__all__ = ["runtime"]
FORMATS = ("json", "csv", "html")
PERSONAL = (b"Iryna", b"asthma", b"@iryna")


def export_all(runtime: Runtime, story: Story) -> dict[str, bytes]:
    return {fmt: shown(runtime, queries(runtime).export(story.case_id, AUDITOR, "complaint",
                                                        fmt))  # type: ignore[arg-type]
            for fmt in FORMATS}


def erase(story: Story) -> None:
    story.run("cases.erase_personal_data", str(story.worker), case_id=story.case_id)


class ExportContract:
    @pytest.fixture
    def story(self, runtime: Runtime) -> Story:
        return tell_a_case(runtime)

    def test_an_auditor_without_a_grant_gets_redactions_in_every_format(
            self, runtime: Runtime, story: Story) -> None:
        documents = export_all(runtime, story)

        for fmt, document in documents.items():
            assert REDACTED.encode() in document, fmt
            assert not any(p in document for p in PERSONAL), fmt

    def test_a_granted_auditor_gets_the_personal_data(self, runtime: Runtime,
                                                      story: Story) -> None:
        grant(story)

        documents = export_all(runtime, story)

        for fmt, document in documents.items():
            assert b"Iryna" in document and b"asthma" in document, fmt

    def test_after_erasure_nobody_gets_the_personal_data_back(self, runtime: Runtime,
                                                              story: Story) -> None:
        grant(story)
        erase(story)

        documents = export_all(runtime, story)

        for fmt, document in documents.items():
            assert ERASED.encode() in document, fmt
            assert not any(p in document for p in PERSONAL), fmt
        history = orjson.loads(documents["json"])["history"]
        assert [e["state"]["personal"] for e in history["entries"]] == [ERASED] * 6
        assert history["entries"][3]["data"]["note"] == ERASED  # the old event, too

    def test_the_json_export_says_who_why_and_that_the_chain_held(
            self, runtime: Runtime, story: Story) -> None:
        document = orjson.loads(export_all(runtime, story)["json"])

        assert document["export"]["exported_by"] == AUDITOR
        assert document["export"]["purpose"] == "complaint"
        assert document["export"]["chain"]["ok"] is True
        assert document["history"]["version"] == 5

    def test_the_csv_export_has_one_row_per_event(self, runtime: Runtime, story: Story) -> None:
        rows = list(csv.DictReader(io.StringIO(export_all(runtime, story)["csv"].decode())))

        assert [r["type"] for r in rows] == ["CaseOpened", "CaseTaken", "AdviceGiven",
                                            "NoteAdded", "CaseFlagged"]
        assert "status: unassigned -> assigned" in rows[1]["changes"]

    def test_every_export_is_on_record(self, runtime: Runtime, story: Story) -> None:
        export_all(runtime, story)

        views = [e.view for e in access_events(runtime, story.case_id)
                 if type(e).__name__ == "HistoryViewed"]
        assert views == ["export"] * 3

    def test_a_supervisor_cannot_grant_access_to_themselves(self, runtime: Runtime,
                                                            story: Story) -> None:
        with pytest.raises(RuntimeError, match="CannotGrantToSelf"):
            grant(story, auditor=SUPERVISOR)


class TestExportOnSQLite(SQLiteStore, ExportContract):
    pass


class TestExportOnPostgres(PostgresStore, ExportContract):
    pass
