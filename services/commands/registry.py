"""Registering commands once makes their HTTP endpoints, Kafka handling and docs agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.base import Meta
from services.auth import CallerRole
from services.commands.common import Whole
from services.runtime.unit_of_work import UnitOfWork


class CommandBody(BaseModel):
    """Fields every command carries besides its own."""

    model_config = ConfigDict(extra="forbid")

    command_id: UUID = Field(description="caller-chosen id; a retry with the same id returns "
                                         "the original outcome and appends nothing")
    expected_version: Whole | None = Field(default=None, ge=0, description="optimistic "
                                         "concurrency: reject unless the stream is at this version")
    correlation_id: UUID | None = Field(default=None, description="ties follow-ups together")

    starts: ClassVar[str | None] = None
    """The field naming the stream this command starts (there is nothing to read for it)."""

    def new_subjects(self) -> set[UUID]:
        """Data subjects this command will likely seal data for, for the first time: their
        keys are looked up (or made) while the command waits for the writer."""
        return set()

    def streams(self) -> set[UUID]:
        """The existing streams this command names: the writer reads those not cached for
        a whole batch at once (`CorridorApplication.cache_streams`)."""
        found: set[UUID] = set()
        for name in STREAM_FIELDS.intersection(type(self).model_fields).difference(
                {self.starts}):
            value = getattr(self, name)
            if isinstance(value, UUID):
                found.add(value)
            elif isinstance(value, list):
                found.update(v for v in value if isinstance(v, UUID))
        return found


STREAM_FIELDS = frozenset({"case_id", "resource_id", "resource_ids", "volunteer_id",
                           "psychologist_id", "member_ids", "stream_id"})
"""Command fields that name a case's, a resource's or a volunteer's stream."""


B = TypeVar("B", bound=CommandBody)
Handler = Callable[[Any, UnitOfWork, Meta], UUID]


@dataclass(frozen=True)
class CommandSpec:
    """One command: its name (also the Kafka command type), endpoint, body, roles, handler."""

    name: str
    path: str
    body: type[CommandBody]
    roles: frozenset[CallerRole]
    handler: Handler
    summary: str
    tag: str


CATALOG: dict[str, CommandSpec] = {}
"""Commands other services may send (HTTP endpoints, the Kafka command topic)."""

INTERNAL: dict[str, CommandSpec] = {}
"""Commands only the service itself sends (recording a disclosure before showing data):
they go through the writer like any other but have no endpoint and are refused from Kafka."""


def command(name: str, path: str, roles: set[CallerRole], *, internal: bool = False,
            ) -> Callable[[Callable[[B, UnitOfWork, Meta], UUID]],
                          Callable[[B, UnitOfWork, Meta], UUID]]:
    """Register a handler; its first parameter's annotation is the request model."""
    registry = INTERNAL if internal else CATALOG

    def register(handler: Callable[[B, UnitOfWork, Meta], UUID]
                 ) -> Callable[[B, UnitOfWork, Meta], UUID]:
        import typing

        hints = typing.get_type_hints(handler)
        body = next(iter(hints.values()))
        if name in CATALOG or name in INTERNAL:
            raise ValueError(f"command {name} registered twice")
        registry[name] = CommandSpec(
            name=name, path=path, body=body, roles=frozenset(roles), handler=handler,
            summary=(handler.__doc__ or name).strip().splitlines()[0],
            tag=name.split(".")[0])
        return handler

    return register


def spec_of(name: str) -> CommandSpec:
    """The registered command of this name, public or internal (KeyError if none)."""
    spec = CATALOG.get(name) or INTERNAL.get(name)
    if spec is None:
        raise KeyError(name)
    return spec
