"""The command mix, drawn from the simulated network (services.simulate): what its intake
bot, volunteers, supervisors, fact-checkers and trolls send during a day, in the proportions
a day has them (cases opened, taken, advised, transport arranged, journeys recorded, flags
cleared, shifts, resources reported, verified, bombed and filling, trolls banned...).

The executors (HTTP, in-process, the writer) send what `Workload.next_command` hands out and
report each answer back: `acknowledged` for a 200, `refused` otherwise, so the story behind
the command goes on. Most commands are valid when sent; the few a real network sees refused
(a stale resource caught before use, a flag raised meanwhile) are refused here too and
counted apart. Stories are handed out one command at a time, so no two clients race on one
case; simulated time moves on only as fast as the server answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from services.simulate.commands import ADMIN as ADMIN_ACTOR
from services.simulate.commands import Command
from services.simulate.stories.cast import Scenario
from services.simulate.traffic import ClosedLoop

ADMIN = ADMIN_ACTOR.id

__all__ = ["ADMIN", "ClientState", "Command", "Workload", "World"]


@dataclass
class World:
    """The simulated network sized for `clients` senders, and the commands that set it up
    before timing (registrations, training, resources reported and verified)."""

    traffic: ClosedLoop

    @classmethod
    def new(cls, clients: int, seed: int | None = None) -> World:
        """A network of its own (a random seed unless given: every id in it derives from
        the seed, so two worlds of one seed would collide in one store)."""
        from services.commands import CATALOG

        seed = random.randrange(2**31) if seed is None else seed
        return cls(ClosedLoop(Scenario.sized_for(clients, seed), capabilities=frozenset(
            spec.path for spec in CATALOG.values())))

    def setup_phases(self) -> list[list[Command]]:
        """Commands creating the world, in phases; commands within a phase are independent."""
        return self.traffic.phases


@dataclass
class ClientState:
    """One sender: what it has sent, by kind."""

    index: int
    sent: dict[str, int] = field(default_factory=dict)


class Workload:
    """Hands each client the network's next command and passes the answers back to it."""

    def __init__(self, world: World, seed: int = 7) -> None:
        """`seed` is kept for the executors' calls; the world's seed decides the day."""
        self.world = world
        world.traffic.start()

    def client(self, index: int) -> ClientState:
        return ClientState(index=index)

    def next_command(self, client: ClientState) -> Command:
        command = self.world.traffic.next_command()
        client.sent[command.kind] = client.sent.get(command.kind, 0) + 1
        return command

    def acknowledged(self, client: ClientState, command: Command, body: Any = None) -> None:
        """A 200 answer (with its body, when the executor has it)."""
        self.world.traffic.answered(command, 200, body)

    def refused(self, client: ClientState, command: Command, status: int,
                body: Any = None) -> None:
        """Any other answer: the story behind the command takes its refusal into account."""
        self.world.traffic.answered(command, status, body)
