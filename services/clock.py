"""The one place the service reads the clock; the domain never does.

The business time is the system clock, unless the service runs a told clock
(CORRIDOR_CLOCK=told, for simulations and demonstrations): an administrator's clock tick
(services/commands/clock.py) then moves this process's business time forward to the time it
names, never back, so hours of a simulated day pass in minutes. The clock is kept in memory:
a restarted process starts again from the system clock.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class BusinessClock:
    """The system clock, moved forward by the ticks it was told when it may be told."""

    def __init__(self, told: bool | None = None) -> None:
        self._told = told
        self._ahead = timedelta(0)
        self._lock = threading.Lock()

    @property
    def told(self) -> bool:
        """True when ticks may move this clock (CORRIDOR_CLOCK=told, read once)."""
        if self._told is None:
            from services.settings import Settings

            self._told = Settings().clock == "told"
        return self._told

    def now(self) -> datetime:
        return datetime.now(UTC) + self._ahead

    def tell(self, at: datetime) -> datetime:
        """Move forward to `at` (a time already passed changes nothing); the time now."""
        with self._lock:
            self._ahead = max(self._ahead, at - datetime.now(UTC))
            return self.now()


CLOCK = BusinessClock()
"""This process's business clock."""


def now() -> datetime:
    return CLOCK.now()
