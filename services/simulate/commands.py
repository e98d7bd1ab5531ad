"""A command as corridor's API takes it, and the actors of the simulated network who send it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """Who sends a command: the token's subject (a volunteer's id or a service's name) and
    the roles the token carries."""

    id: str
    roles: tuple[str, ...]


ADMIN = Actor("admin", ("admin",))
"""The network's administrator: registers people and tells the server's clock."""
INTAKE_BOT = Actor("intake-bot", ("intake",))
"""The chat bot and web survey that open cases from people's answers."""
AUDITOR = Actor("auditor-1", ("auditor",))
"""An auditor who reviews a complaint about a case."""


@dataclass(frozen=True)
class Command:
    """One command: its kind (what the story calls it), catalog path (below /commands), JSON
    body and who sends it."""

    kind: str
    path: str
    body: dict[str, Any]
    actor: str
    roles: tuple[str, ...]

    @property
    def stream_id(self) -> UUID | None:
        """The stream the command acts on (its case, resource or volunteer), if it names one."""
        for key in ("case_id", "resource_id", "volunteer_id"):
            if key in self.body:
                return UUID(self.body[key])
        return None

    @property
    def command_id(self) -> str:
        return str(self.body["command_id"])

    @property
    def name(self) -> str:
        """The catalog name (e.g. cases.give_advice), as the Kafka command topic takes it."""
        aggregate, verb = self.path.strip("/").split("/", 1)
        return f"{aggregate}.{verb.replace('-', '_')}"


def new_id(rng: random.Random) -> UUID:
    """A version-4 UUID drawn from `rng`: the same seed gives the same ids."""
    return UUID(int=rng.getrandbits(128), version=4)


def plain(value: Any) -> Any:
    """A value as JSON takes it (ids as text, lists element by element)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def command(kind: str, path: str, sender: Actor, rng: random.Random, /,
            **fields: Any) -> Command:
    """A command with a fresh command id from `rng` (a retry resends the same object)."""
    body = {"command_id": str(new_id(rng)), **{k: plain(v) for k, v in fields.items()}}
    return Command(kind=kind, path=path, body=body, actor=sender.id, roles=sender.roles)
