"""Stories on a simulated clock: each actor's behaviour is a generator of steps (send a
command, read a view, sleep some minutes) resumed with the answer. The engine is pure: it
never does I/O and never reads a clock. A driver (the day, or the benchmark's closed loop)
takes the requests it hands out, performs them and gives the answers back.

Requests are handed out in rounds, in a fixed order, and answers are taken back in the order
of their requests, so a seed plays the same day whatever order the server answers in.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from services.simulate.commands import Actor, Command


@dataclass(frozen=True)
class Send:
    """Send a command; the story is resumed with its Answer."""

    command: Command


@dataclass(frozen=True)
class Read:
    """Read a view (GET path?params) as an actor; resumed with its Answer."""

    path: str
    params: dict[str, str]
    actor: Actor


@dataclass(frozen=True)
class Sleep:
    """Let `minutes` of simulated time pass (at least one)."""

    minutes: int


Step = Send | Read | Sleep


@dataclass(frozen=True)
class Answer:
    """What came back: the HTTP status (0 when nothing was asked, e.g. a read the benchmark
    skips, or the server could not be reached) and the JSON body."""

    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def rule(self) -> str | None:
        """The rule a refusal names (the problem's `rule`), if any."""
        if isinstance(self.body, dict):
            rule = self.body.get("rule")
            return rule if isinstance(rule, str) else None
        return None

    @property
    def unread(self) -> bool:
        """True when a read was not performed (the caller falls back on its own notes)."""
        return self.status == 0


UNREAD = Answer(0)
Story = Generator[Step, Answer | None, None]


@dataclass(eq=False)
class Process:
    """A running story."""

    name: str
    story: Story
    finished: bool = False


@dataclass(frozen=True, eq=False)
class Request:
    """A Send or Read a process waits on."""

    process: Process
    step: Send | Read


@dataclass
class Engine:
    """The simulated clock (whole minutes since the start) and the processes on it."""

    now: int = 0
    processes: int = 0
    current: Process | None = None
    """The process being resumed (a story learns its own process from it)."""
    _sleepers: list[tuple[int, int, Process]] = field(default_factory=list)
    _asleep: dict[int, int] = field(default_factory=dict)
    """id(process) -> the order number of its live sleeper entry (others were woken early)."""
    _ready: deque[tuple[Process, Answer | None]] = field(default_factory=deque)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def spawn(self, name: str, story: Story, *, at: int | None = None) -> None:
        """Start a story now, or at minute `at` (not before now)."""
        process = Process(name, story)
        self.processes += 1
        when = self.now if at is None else max(at, self.now)
        if when <= self.now:
            self._ready.append((process, None))
        else:
            self._sleep(process, when)

    def next_wake(self) -> int | None:
        """The minute the next sleeper wakes, or None when nobody sleeps."""
        while self._sleepers and self._asleep.get(id(self._sleepers[0][2])) != \
                self._sleepers[0][1]:
            heapq.heappop(self._sleepers)  # woken early: no longer asleep there
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, to: int) -> None:
        """Move the clock to minute `to`, waking every sleeper due by then, in order."""
        self.now = max(self.now, to)
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _, order, process = heapq.heappop(self._sleepers)
            if self._asleep.get(id(process)) == order:
                del self._asleep[id(process)]
                self._ready.append((process, None))

    def wake(self, process: Process) -> None:
        """Wake a sleeping process now (someone needs it: a flag on its case); nothing if it
        is not asleep."""
        if self._asleep.pop(id(process), None) is not None:
            self._ready.append((process, None))

    @property
    def busy(self) -> bool:
        """True while a process is ready to run."""
        return bool(self._ready)

    def round(self) -> list[Request]:
        """Run every ready process until it asks for something or sleeps; the requests in
        the order they were made."""
        requests: list[Request] = []
        while self._ready:
            process, value = self._ready.popleft()
            step = self._resume(process, value)
            if step is None:
                continue
            if isinstance(step, Sleep):
                self._sleep(process, self.now + max(1, int(step.minutes)))
            else:
                requests.append(Request(process, step))
        return requests

    def _sleep(self, process: Process, until: int) -> None:
        order = next(self._order)
        self._asleep[id(process)] = order
        heapq.heappush(self._sleepers, (until, order, process))

    def answer(self, request: Request, answer: Answer) -> None:
        """Give a request its answer; its process runs in the next round."""
        self._ready.append((request.process, answer))

    def _resume(self, process: Process, value: Answer | None) -> Step | None:
        self.current = process
        try:
            return process.story.send(value)
        except StopIteration:
            process.finished = True
            self.processes -= 1
            return None
        finally:
            self.current = None


def send(command: Command) -> Generator[Step, Answer | None, Answer]:
    """`answer = yield from send(command)` inside a story."""
    answer = yield Send(command)
    return answer if answer is not None else UNREAD


def read(path: str, actor: Actor, **params: Any) -> Generator[Step, Answer | None, Answer]:
    """`answer = yield from read(path, actor, key=value)` inside a story."""
    answer = yield Read(path, {k: str(v) for k, v in params.items()}, actor)
    return answer if answer is not None else UNREAD


def sleep(minutes: float) -> Generator[Step, Answer | None, None]:
    """`yield from sleep(minutes)` inside a story."""
    yield Sleep(max(1, round(minutes)))
