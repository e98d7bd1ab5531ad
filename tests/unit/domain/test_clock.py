"""The clock record: admins tell the time, forward only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.base import Meta
from domain.clock import CLOCK_ID, Clock, TickOutOfOrder
from domain.errors import NotAnAdmin
from domain.roles import Authority, Role

T0 = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
ADMIN = Authority(actor="admin", roles=frozenset({Role.ADMIN}))


def meta(at: datetime = T0) -> Meta:
    command_id = uuid4()
    return Meta(actor="admin", at=at, command_id=command_id, correlation_id=command_id)


def test_a_tick_records_the_time_told_and_who_told_it() -> None:
    clock = Clock.start(meta=meta())

    clock.tick(at=T0 + timedelta(hours=3), by=ADMIN, meta=meta())

    ticked = clock.collect_events()[-1]
    assert clock.id == CLOCK_ID
    assert type(ticked).__name__ == "ClockTicked"
    assert ticked.at == T0 + timedelta(hours=3)  # type: ignore[attr-defined]
    assert ticked.meta.actor == "admin"  # type: ignore[attr-defined]
    assert clock.told_at == T0 + timedelta(hours=3) and clock.ticks == 1


def test_a_tick_may_not_go_back_before_the_last_one() -> None:
    clock = Clock.start(meta=meta())
    clock.tick(at=T0 + timedelta(hours=3), by=ADMIN, meta=meta())

    with pytest.raises(TickOutOfOrder):
        clock.tick(at=T0 + timedelta(hours=2), by=ADMIN, meta=meta())
    assert clock.ticks == 1


def test_only_an_admin_tells_the_time() -> None:
    clock = Clock.start(meta=meta())
    supervisor = Authority(actor="someone", roles=frozenset({Role.SUPERVISOR}))

    with pytest.raises(NotAnAdmin):
        clock.tick(at=T0, by=supervisor, meta=meta())
