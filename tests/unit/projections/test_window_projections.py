"""Opening windows in the read models: kept as set (cleared when cleared), on the directory
and on the board's copy of a relied-on resource; a window flag keeps its closing time; and
whether a window is open is asked at query time, in the window's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from projection_events import T0, Stream, apply, only, opened, personal

from projections.catalog import CASE_BOARD, RESOURCE_DIRECTORY
from projections.records import EventRecord
from projections.views.board import condition
from projections.views.windows import window_view

NIGHTS = {"opens_at": None, "closes_at": None, "daily_from": "22:00", "daily_until": "06:00",
          "time_zone": "Europe/Kyiv", "closed_within": True}


def curfew(resource: Stream) -> list[EventRecord]:
    return [resource.event("ResourceReported", kind="curfew", region="odesa", place="city",
                           details="", capacity=None, contact=personal(uuid4()),
                           reported_by=str(uuid4())),
            resource.event("ResourceVerified", verified_by=str(uuid4()),
                           expires_at=(T0 + timedelta(days=1)).isoformat()),
            resource.event("WindowSet", **NIGHTS)]


def test_the_directory_keeps_a_window_as_set_and_forgets_it_when_cleared() -> None:
    resource = Stream("resource")
    records = curfew(resource)

    kept = only(apply(RESOURCE_DIRECTORY, records).rows("resource_directory"))
    cleared = only(apply(RESOURCE_DIRECTORY, [*records, resource.event("WindowCleared")])
                   .rows("resource_directory"))

    assert (kept["window_daily_from"], kept["window_daily_until"], kept["window_zone"],
            kept["window_closed_within"]) == ("22:00", "06:00", "Europe/Kyiv", True)
    assert cleared["window_zone"] is None and cleared["window_daily_from"] is None


def test_the_board_keeps_the_window_of_a_relied_on_resource_and_a_flags_closing_time() -> None:
    resource, case = Stream("resource"), Stream("case")
    closes = T0 + timedelta(hours=3)
    records = [*curfew(resource), opened(case),
               case.event("CaseFlagged", flag_id=str(uuid4()), reason="window_closing",
                          personal=personal(uuid4()), resource_id=str(resource.id),
                          closes_at=closes.isoformat(), actor="policy:window_watch")]

    tables = apply(CASE_BOARD, records)

    assert only(tables.rows("board_resources"))["window_daily_from"] == "22:00"
    assert only(tables.rows("case_flags"))["closes_at"] == closes


def test_a_curfew_row_is_usable_outside_its_hours_and_says_why_not_inside() -> None:
    row = only(apply(RESOURCE_DIRECTORY, curfew(Stream("resource")))
               .rows("resource_directory"))
    noon = datetime(2024, 3, 1, 10, tzinfo=UTC)        # 12:00 in Kyiv
    midnight = datetime(2024, 3, 1, 22, tzinfo=UTC)    # 00:00 in Kyiv

    assert condition(row, noon) is None
    assert condition(row, midnight) == "window_closed"
    shown = window_view(row, midnight)
    assert shown is not None and shown.next_opens_at == datetime(2024, 3, 2, 4, tzinfo=UTC)
    assert shown.next_opens_at.utcoffset() == timedelta(hours=2)  # on Kyiv's clock
