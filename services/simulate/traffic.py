"""The day's stories as a closed-loop command source (the benchmark's mix): each sender asks
for its next command as soon as its last one was answered. Simulated time moves on whenever
no story has a command ready; stories read nothing (they act on their notes) and the clock is
never told, so the mix is the network's traffic at whatever rate the server takes it."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from services.simulate.commands import Command
from services.simulate.engine import UNREAD, Answer, Engine, Request, Send
from services.simulate.stories.cast import Scenario, cast, new_world, setup_phases
from services.simulate.world import World


class DayOver(RuntimeError):
    """No story has anything left to do (never, while requests keep arriving)."""


class ClosedLoop:
    """Hands out the network's next commands and takes their answers back, in any order."""

    def __init__(self, scenario: Scenario, *, capabilities: frozenset[str] = frozenset(),
                 start: datetime | None = None) -> None:
        """`capabilities`: the command paths the server takes (seats, ... where listed)."""
        self.scenario = scenario
        self.world: World = new_world(scenario, start or datetime.now(UTC))
        self.world.reads = False
        self.world.capabilities = capabilities
        self.engine = Engine()
        self.phases = setup_phases(self.world)
        """The start of the day: registrations, training and resources (all must succeed)."""
        self._ready: deque[Request] = deque()
        self._waiting: dict[str, Request] = {}
        self._cast = False

    def start(self) -> None:
        """Start the day's stories (once)."""
        if not self._cast:
            cast(self.world, self.engine, self.scenario, hours=24.0)
            self._cast = True

    def next_command(self) -> Command:
        self.start()
        while not self._ready:
            self._fill()
        request = self._ready.popleft()
        assert isinstance(request.step, Send)
        self._waiting[request.step.command.command_id] = request
        return request.step.command

    def answered(self, command: Command, status: int, body: Any = None) -> None:
        """The server's answer to a command this handed out (200 or a refusal)."""
        request = self._waiting.pop(command.command_id, None)
        if request is not None:
            self.engine.answer(request, Answer(status, body))

    @property
    def outstanding(self) -> int:
        """Commands handed out and not answered yet."""
        return len(self._waiting)

    def _fill(self) -> None:
        requests = self.engine.round()
        for request in requests:
            if isinstance(request.step, Send):
                self._ready.append(request)
            else:
                self.engine.answer(request, UNREAD)
        if not requests and not self.engine.busy:
            wake = self.engine.next_wake()
            if wake is None:
                raise DayOver("no story has anything left to do")
            self.engine.advance(wake)
