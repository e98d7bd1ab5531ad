"""What every story shares: the network's notes, the simulated clock and its own dice."""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

from services.simulate.commands import Actor, command
from services.simulate.engine import Answer, Engine, Step, read, send
from services.simulate.world import World

Steps = Generator[Step, Answer | None, Any]

STALE = {"ResourceNotUsable": "not usable", "ShelterFull": "full",
         "WindowClosed": "outside its window"}
"""Refusals that mean a resource may not be relied on now: caught before use (by the reason
the refusal gives, else these words)."""


class Plot:
    """One story's view of the day: the world's notes, the clock, and dice of its own (seeded
    by the story's name, so adding a story elsewhere changes nothing here)."""

    def __init__(self, world: World, engine: Engine, name: str, seed: int) -> None:
        self.world, self.engine, self.name = world, engine, name
        self.rng = random.Random(f"{seed}/{name}")
        self.seed = seed

    @property
    def now(self) -> int:
        return self.engine.now

    def child(self, name: str) -> Plot:
        """The plot of a story this one starts."""
        return Plot(self.world, self.engine, name, self.seed)

    def do(self, kind: str, path: str, actor: Actor, /, **fields: Any) -> Steps:
        """Send one command and note how it went; returns its Answer."""
        sent = command(kind, path, actor, self.rng, **fields)
        tally = self.world.tally
        tally.sent[kind] += 1
        answer: Answer = yield from send(sent)
        if answer.status == 0:
            tally.unreached += 1
        elif not answer.ok:
            tally.refused[answer.rule or str(answer.status)] += 1
            if answer.rule in STALE and isinstance(answer.body, dict):
                tally.stale_caught[str(answer.body.get("reason") or STALE[answer.rule])] += 1
        return answer

    def look(self, path: str, actor: Actor, **params: Any) -> Steps:
        """Read a view, unless this run acts on its notes alone (then an unread Answer)."""
        if not self.world.reads:
            return Answer(0)
        answer: Answer = yield from read(path, actor, **params)
        return answer

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def minutes(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)
