"""Exports carry what the viewer saw (redactions and erasures included) in three formats."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from uuid import UUID

import orjson

from services.audit.diff import diff_states
from services.audit.export import CSV_COLUMNS, ExportInfo, export_csv, export_html, render
from services.audit.models import (
    ChainBreak,
    ChainCheck,
    EventMeta,
    History,
    HistoryEntry,
    VerifyReport,
)
from services.audit.render import ERASED, REDACTED

CASE = UUID(int=1)
AT = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)


def entry(version: int, before: dict[str, object] | None, after: dict[str, object],
          kind: str) -> HistoryEntry:
    return HistoryEntry(
        version=version, position=version + 10, recorded_at=AT, type=kind,
        meta=EventMeta(actor="volunteer-1", at=AT, command_id=UUID(int=version),
                       correlation_id=UUID(int=version)),
        data={"text": "<b>stay put</b>"}, changes=diff_states(before, after), state=after,
        chain_hash="ab" * 32)


def history() -> History:
    opened = {"status": "unassigned", "personal": ERASED, "notes": []}
    taken = {**opened, "status": "assigned", "notes": [REDACTED]}
    return History(stream_id=CASE, type="Case", version=2, personal_data="redacted",
                   entries=[entry(1, None, opened, "CaseOpened"),
                            entry(2, opened, taken, "CaseTaken")],
                   chain=ChainCheck(intact=True, events_checked=2, first_break=None,
                                    breaks=[]))


def chain(ok: bool = True) -> VerifyReport:
    broken = ChainBreak(kind="altered", stream_id=CASE, version=2, position=12,
                        expected="aa", found="bb", detail="changed")
    return VerifyReport(scope="stream", stream_id=CASE, ok=ok, events_checked=2,
                        streams_checked=1, last_position=12,
                        first_break=None if ok else broken, breaks=[] if ok else [broken],
                        anchors=[], snapshots_checked=0, snapshot_mismatches=[])


def info(ok: bool = True) -> ExportInfo:
    return ExportInfo(exported_by="auditor-1", purpose="complaint 17", exported_at=AT,
                      chain=chain(ok))


def test_csv_has_one_row_per_event_with_its_changes_and_chain_hash() -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(history()))))

    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["type"] for r in rows] == ["CaseOpened", "CaseTaken"]
    assert rows[1]["changes"] == 'status: unassigned -> assigned; notes: + [redacted]'
    assert rows[0]["chain_hash"] == "ab" * 32
    assert ERASED in rows[0]["changes"]


def test_json_carries_who_exported_why_and_the_chain_verdict() -> None:
    document = orjson.loads(render(history(), info(), "json"))

    assert document["export"]["exported_by"] == "auditor-1"
    assert document["export"]["chain"]["ok"] is True
    assert document["history"]["entries"][1]["state"]["notes"] == [REDACTED]


def test_the_printable_report_escapes_content_and_shows_the_verdict() -> None:
    page = export_html(history(), info())

    assert page.startswith("<!doctype html>")
    assert "@media print" in page
    assert "<b>stay put</b>" not in page
    assert "text: &lt;b&gt;stay put&lt;/b&gt;" in page
    assert "intact: 2 events match their hash chain" in page
    assert ERASED in page and REDACTED in page


def test_the_printable_report_says_where_the_chain_broke() -> None:
    page = export_html(history(), info(ok=False))

    assert "BROKEN: altered event 2 (position 12); expected aa, found bb" in page


def broken_history() -> History:
    """Event 2 altered, and a chain row left for a deleted event 3."""
    altered = ChainBreak(kind="altered", stream_id=CASE, version=2, position=12,
                         expected="aa", found="bb", detail="changed")
    orphaned = ChainBreak(kind="orphaned", stream_id=CASE, version=3, position=None,
                          expected="cc", found=None, detail="event gone")
    return history().model_copy(update={"chain": ChainCheck(
        intact=False, events_checked=2, first_break=altered, breaks=[altered, orphaned])})


def test_csv_says_which_event_breaks_the_chain_and_gives_a_deleted_one_a_row() -> None:
    rows = list(csv.DictReader(io.StringIO(export_csv(broken_history()))))

    assert [(r["version"], r["type"], r["chain"]) for r in rows] == [
        ("1", "CaseOpened", "intact"), ("2", "CaseTaken", "altered: changed"),
        ("3", "", "orphaned: event gone")]


def test_the_printable_report_marks_the_broken_event_in_its_row() -> None:
    page = export_html(broken_history(), info(ok=False))

    rows = page[page.index("<tbody>"):page.index("</tbody>")].split("<tr>")[1:]
    assert [r.count('<span class="broken">BROKEN: altered: changed</span>') for r in rows] == [
        0, 1]
