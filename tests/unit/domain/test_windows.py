"""Opening windows: once or daily in a named time zone (across midnight and daylight saving
time), curfews open outside their hours, advice and transport refused outside a window, and
the window watch that flags cases before and after a window closes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from domain_builders import (
    T0,
    fact_checker,
    later,
    meta,
    new_id,
    supervisor,
    taken_case,
    volunteer,
)

from domain.errors import InvalidWindow, NotAFactChecker, WindowClosed
from domain.policies import WatchedWindow, WindowReason, watch_windows
from domain.resource import Resource
from domain.roles import policy_actor
from domain.vocabulary import ResourceKind
from domain.windows import Window

KYIV = ZoneInfo("Europe/Kyiv")
NIGHTS = Window(daily_from=time(22), daily_until=time(6), time_zone="Europe/Kyiv")
TICK = policy_actor("window_watch")


def kyiv(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


def windowed(kind: ResourceKind, window: Window, verified_at: datetime = T0) -> Resource:
    resource = Resource.report(resource_id=new_id(), kind=kind, region="Zaporizhzhia oblast",
                               place="Orikhiv road", details="agreed by both sides",
                               reporter=volunteer(), window=window, meta=meta())
    resource.verify(by=fact_checker(), meta=meta(verified_at))
    return resource


def test_a_once_window_is_open_between_its_times_and_says_when_it_opens_or_closes() -> None:
    window = Window(opens_at=later(hours=2), closes_at=later(hours=6))

    before, inside, after = (window.state(later(hours=h), UTC) for h in (1, 3, 7))

    assert (before.is_open, before.opens_at) == (False, later(hours=2))
    assert (inside.is_open, inside.closes_at) == (True, later(hours=6))
    assert (after.is_open, after.opens_at, after.closed_at) == (False, None, later(hours=6))


def test_a_daily_window_across_midnight_is_open_at_night_in_its_own_time_zone() -> None:
    night, noon = NIGHTS.state(kyiv(2024, 3, 1, 23), KYIV), NIGHTS.state(
        kyiv(2024, 3, 1, 12), KYIV)

    assert (night.is_open, night.closes_at) == (True, kyiv(2024, 3, 2, 6))
    assert (noon.is_open, noon.opens_at, noon.closed_at) == (False, kyiv(2024, 3, 1, 22),
                                                         kyiv(2024, 3, 1, 6))


def test_a_daily_window_keeps_its_local_hours_across_a_change_of_daylight_saving_time() -> None:
    mornings = Window(daily_from=time(8), daily_until=time(9), time_zone="Europe/Kyiv")

    winter = mornings.state(kyiv(2024, 3, 30, 7), KYIV).opens_at
    summer = mornings.state(kyiv(2024, 3, 31, 7), KYIV).opens_at

    assert winter == datetime(2024, 3, 30, 6, tzinfo=UTC)  # UTC+2
    assert summer == datetime(2024, 3, 31, 5, tzinfo=UTC)  # UTC+3


def test_a_curfew_is_open_outside_its_hours() -> None:
    curfew = windowed(ResourceKind.CURFEW, NIGHTS).opening_window
    assert curfew is not None and curfew.closed_within

    day, night = curfew.state(kyiv(2024, 3, 1, 12), KYIV), curfew.state(
        kyiv(2024, 3, 1, 23), KYIV)

    assert (day.is_open, day.closes_at) == (True, kyiv(2024, 3, 1, 22))
    assert (night.is_open, night.opens_at) == (False, kyiv(2024, 3, 2, 6))


@pytest.mark.parametrize("bad", [
    Window(), Window(opens_at=later(hours=2), closes_at=later(hours=1)),
    Window(daily_from=time(6), daily_until=time(6)), Window(daily_from=time(6)),
    Window(daily_from=time(6), daily_until=time(8), opens_at=T0)])
def test_a_window_that_contradicts_itself_is_refused(bad: Window) -> None:
    with pytest.raises(InvalidWindow):
        windowed(ResourceKind.CORRIDOR, bad)


def test_advice_naming_a_corridor_outside_its_window_is_refused_with_the_window() -> None:
    corridor = windowed(ResourceKind.CORRIDOR,
                        Window(opens_at=later(hours=1), closes_at=later(hours=6)))
    case, holder = taken_case()

    with pytest.raises(WindowClosed) as refused:
        case.give_advice(text="take the corridor", resources=[corridor], by=holder,
                         meta=meta(later(minutes=30)), zones=ZoneInfo)

    assert refused.value.extra["opens_at"] == later(hours=1).isoformat()
    assert refused.value.extra["window"]["closes_at"] == later(hours=6).isoformat()
    assert case.resource_ids == []
    case.give_advice(text="take the corridor", resources=[corridor], by=holder,
                     meta=meta(later(minutes=90)), zones=ZoneInfo)
    assert case.relies_on(corridor.id)


def test_transport_relying_on_a_checkpoint_closed_for_the_night_is_refused() -> None:
    checkpoint = windowed(ResourceKind.CHECKPOINT, Window(
        daily_from=time(6), daily_until=time(20), time_zone="Europe/Kyiv"),
        verified_at=kyiv(2022, 3, 1, 20, 30))
    case, holder = taken_case()

    with pytest.raises(WindowClosed) as refused:
        case.arrange_transport(resources=[checkpoint], description="minibus", by=holder,
                               meta=meta(kyiv(2022, 3, 1, 21)), zones=ZoneInfo)

    assert refused.value.extra["opens_at"] == kyiv(2022, 3, 2, 6).isoformat()


def test_windows_are_set_and_cleared_by_a_fact_checker_or_a_supervisor() -> None:
    crossing = windowed(ResourceKind.BORDER_CROSSING, NIGHTS)

    with pytest.raises(NotAFactChecker):
        crossing.set_window(window=None, by=volunteer(), meta=meta())
    crossing.set_window(window=Window(opens_at=later(hours=1)), by=supervisor(), meta=meta())
    crossing.set_window(window=None, by=fact_checker(), meta=meta())

    assert crossing.opening_window is None
    assert [type(e).__name__ for e in crossing.pending_events[-3:]] == [
        "ResourceVerified", "WindowSet", "WindowCleared"]


def watched(window: Window, since: datetime = T0) -> tuple[WatchedWindow, list[object]]:
    cases = [new_id(), new_id()]
    return WatchedWindow(resource_id=new_id(), window=window, zone=KYIV,
                         relying=dict.fromkeys(cases, since)), cases


def test_cases_are_flagged_within_the_lead_time_before_a_window_closes_and_once_closed() -> None:
    closing = kyiv(2022, 3, 1, 16)
    corridor, cases = watched(Window(opens_at=kyiv(2022, 3, 1, 10), closes_at=closing))

    early = watch_windows([corridor], meta(closing - timedelta(minutes=61), actor=TICK))
    soon = watch_windows([corridor], meta(closing - timedelta(minutes=59), actor=TICK))
    later_on = watch_windows([corridor], meta(closing - timedelta(minutes=5), actor=TICK))
    closed = watch_windows([corridor], meta(closing + timedelta(minutes=1), actor=TICK))

    assert early == []
    assert [(c.reason, c.closes_at, c.resource_id) for c in soon] == [
        (WindowReason.CLOSING.value, closing, corridor.resource_id)] * 2
    assert sorted(c.case_id for c in soon) == sorted(cases)  # type: ignore[type-var]
    assert [c.meta.command_id for c in soon] == [c.meta.command_id for c in later_on]
    assert {c.reason for c in closed} == {WindowReason.CLOSED.value}
    assert "closed at 2022-03-01T16:00:00+02:00" in closed[0].detail


def test_a_closing_before_the_case_relied_on_the_window_is_not_flagged() -> None:
    checkpoint, _ = watched(Window(daily_from=time(6), daily_until=time(20),
                                   time_zone="Europe/Kyiv"), since=kyiv(2022, 3, 2, 9))

    flags = watch_windows([checkpoint], meta(kyiv(2022, 3, 2, 10), actor=TICK))

    assert flags == []


def test_a_curfew_flags_its_cases_before_it_comes_into_force() -> None:
    curfew, _ = watched(Window(daily_from=time(22), daily_until=time(6),
                               time_zone="Europe/Kyiv", closed_within=True),
                        since=kyiv(2022, 3, 1, 12))

    flags = watch_windows([curfew], meta(kyiv(2022, 3, 1, 21, 30), actor=TICK),
                          lead=timedelta(minutes=45))

    assert {(c.reason, c.closes_at) for c in flags} == {
        (WindowReason.CLOSING.value, kyiv(2022, 3, 1, 22))}
