"""The one backoff every reconnect loop uses: the store runner, the Kafka projection worker,
the relay, the command consumer and the reactions.

Why a class of our own and not tenacity: tenacity retries one call until it succeeds, while
these loops run for months and must start their waits afresh after every success (a fault
after an hour of work is a first failure, not the tenth); they stop on their own stop event,
an asyncio.Event in the Kafka and projection loops and a threading.Event in the reactions'
thread; and each does its own thing between attempts (re-seek to the stored offsets, reload
positions, give up on an unreadable message). Tenacity would need a custom sleep, a custom
stop and a fresh retrying object per step to do the same; a small class of our own says it
directly and adds no dependency.

It lives in projections/ because the store runner is the lowest layer with such a loop and
projections may not import services; services reuse it from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable

FIRST_WAIT = 0.1
LONGEST_WAIT = 2.0
"""Short on purpose: a loop resumes at most this long after its database or broker returns,
and one more attempt costs a connection, nothing more."""


class GaveUp(RuntimeError):
    """A loop failed for longer than it may; raised so that its process exits non-zero."""


class Backoff:
    """Bounded exponential backoff with jitter, for one loop: call `failed` (or `pause`) after
    each failure and `succeeded` after each success.

    The n-th failure in a row waits between half and all of min(first * 2**(n-1), longest)
    (the random half keeps many workers from reconnecting in step). Each failure is logged
    with what failed and the next wait. With `give_up_after`, a failure that many seconds
    after the first of its streak raises GaveUp instead.
    """

    def __init__(self, what: str, logger: logging.Logger, *, first: float = FIRST_WAIT,
                 longest: float = LONGEST_WAIT, give_up_after: float | None = None,
                 jitter: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.log = what, logger
        self.first, self.longest, self.give_up_after = first, longest, give_up_after
        self._jitter, self._clock = jitter, clock
        self.failures = 0
        self._failing_since = 0.0

    def succeeded(self) -> None:
        """The loop made progress: the next failure starts a new streak."""
        if self.failures:
            self.log.info("%s recovered after %d failure(s)", self.what, self.failures)
            self.failures = 0

    def failed(self, error: BaseException) -> float:
        """Count and log a failure; the seconds to wait before the next attempt."""
        now = self._clock()
        if not self.failures:
            self._failing_since = now
        self.failures += 1
        failing_for = now - self._failing_since
        if self.give_up_after is not None and failing_for >= self.give_up_after:
            raise GaveUp(f"{self.what} kept failing for {failing_for:.1f}s "
                         f"({self.failures} attempts), giving up: "
                         f"{type(error).__name__}: {error}") from error
        ceiling = min(self.first * 2.0 ** min(self.failures - 1, 62), self.longest)
        wait = ceiling / 2 * (1 + self._jitter())
        self.log.warning("%s failed (%s: %s); retrying in %.2fs (failure %d in a row)",
                         self.what, type(error).__name__, error, wait, self.failures,
                         exc_info=error if self.failures == 1 else None)
        return wait

    async def pause(self, error: BaseException, stop: asyncio.Event) -> None:
        """`failed`, then wait out its wait, or less if `stop` is set meanwhile."""
        await sleep_or_stop(stop, self.failed(error))

    def pause_blocking(self, error: BaseException, stop: threading.Event) -> None:
        """`pause` for a loop on a thread of its own."""
        stop.wait(self.failed(error))


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake up at once when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
