"""The recall-to-flag section's pure parts: the board-row predicates (on the real BoardPage
model's JSON), the trial accounting and the background load's chunks (no sockets, no timing)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from bench.flagprobe import VISIBLE_TIMEOUT, Timings, describe, shows_case, shows_flag
from bench.httpclient import get_request
from bench.loadgen import LevelResult
from bench.sections.flags import merge
from projections.views.board import BoardCase, BoardFlag, BoardPage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _case(case_id: UUID, flags: list[BoardFlag]) -> BoardCase:
    return BoardCase(
        case_id=case_id, status="assigned", urgency="high", stage="waiting", region="r1",
        destination="Lviv", contact_channel="telegram", languages=["uk"], safe_now=False,
        adults=2, children=1, pets=0, needs=[], opened_at=NOW, waiting_seconds=5,
        last_contact_at=None, since_contact_seconds=5, assignee_id=uuid4(), assigned_at=NOW,
        last_step="transport_arranged", borders_crossed=0, notes=0, flags_active=len(flags),
        flags=flags, relied_on=[], support_members=0, outcome=None, closed_at=None,
        version=4, position=40)


def _page(*cases: BoardCase) -> bytes:
    return BoardPage(now=NOW, total=len(cases), limit=5, offset=0,
                     cases=list(cases)).model_dump_json().encode()


def _flag(resource_id: UUID | None) -> BoardFlag:
    return BoardFlag(flag_id=uuid4(), reason="resource_unsafe", resource_id=resource_id,
                     raised_at=NOW)


def test_a_case_shows_once_its_row_is_on_the_board_page() -> None:
    case, other = uuid4(), uuid4()

    assert shows_case(_page(_case(case, [])), case)
    assert not shows_case(_page(_case(other, [])), case)
    assert not shows_case(_page(), case)


def test_the_flag_shows_only_when_the_case_row_names_the_recalled_resource() -> None:
    case, resource, elsewhere = uuid4(), uuid4(), uuid4()

    assert not shows_flag(_page(_case(case, [])), case, resource)
    assert not shows_flag(_page(_case(case, [_flag(elsewhere)])), case, resource)
    assert not shows_flag(_page(_case(case, [_flag(None)])), case, resource)
    assert not shows_flag(_page(_case(uuid4(), [_flag(resource)])), case, resource)
    assert shows_flag(_page(_case(case, [_flag(elsewhere), _flag(resource)])), case, resource)


def test_trial_percentiles_are_nearest_rank_in_milliseconds() -> None:
    timings = Timings()
    for i in range(1, 101):
        timings.add(i / 1000, polls=2)

    figures = timings.as_json()

    assert (figures["p50_ms"], figures["p95_ms"], figures["p99_ms"], figures["max_ms"]) == \
        (50.0, 95.0, 99.0, 100.0)
    assert figures["trials"] == figures["samples"] == 100
    assert figures["never_shown"] == 0 and figures["polls"] == 200
    assert figures["each_ms"][:3] == [1.0, 2.0, 3.0]


def test_a_trial_that_never_showed_counts_as_the_timeout_not_as_nothing() -> None:
    timings = Timings()
    timings.add(0.010, polls=3)
    timings.add(None, polls=900)

    figures = timings.as_json()

    assert figures["trials"] == 2 and figures["samples"] == 1 and figures["never_shown"] == 1
    assert figures["p99_ms"] == figures["max_ms"] == VISIBLE_TIMEOUT * 1000
    assert "1 never shown" in describe(figures)


def test_no_trials_give_no_figures() -> None:
    figures = Timings().as_json()

    assert figures["p99_ms"] is None and figures["max_ms"] is None
    assert "n/a" in describe(figures)


def test_background_chunks_merge_into_one_level_over_their_summed_windows() -> None:
    first, second = LevelResult(clients=8, window=2.0), LevelResult(clients=8, window=2.0)
    first.latencies.extend([0.001] * 300)
    second.latencies.extend([0.003] * 100)
    first.statuses[200] += 300
    second.statuses[200] += 100
    second.statuses[409] += 1
    second.rejections.append("/cases/take 409")

    merged = merge([first, second], clients=8)

    assert merged.window == 4.0 and merged.summary.rate == 100.0
    assert merged.summary.p50 == 0.001 and merged.summary.max == 0.003
    assert merged.statuses == {200: 400, 409: 1}
    assert merged.rejections == ["/cases/take 409"]


def test_a_board_poll_carries_the_readers_token() -> None:
    request = get_request("127.0.0.1", 8000, "/board?region=r1&limit=5", "tok")

    assert request == (b"GET /board?region=r1&limit=5 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
                       b"Authorization: Bearer tok\r\n\r\n")
    assert b"Authorization" not in get_request("127.0.0.1", 8000, "/health/live")
