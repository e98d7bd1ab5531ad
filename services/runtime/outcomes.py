"""What a command came to: accepted (with stream, version and store position) or rejected."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field


class Accepted(BaseModel):
    """The command's events are stored."""

    status: Literal["accepted"] = "accepted"
    command_id: UUID
    stream_id: UUID
    version: int = Field(description="the stream's version after the command")
    position: int | None = Field(default=None, description="store position of the last event")
    events: list[str] = Field(default_factory=list, description="event types appended")
    duplicate: bool = Field(default=False, description="true when this is a retry's answer")


class Rejected(BaseModel):
    """The command broke a rule or named something missing; nothing was stored."""

    status: Literal["rejected"] = "rejected"
    command_id: UUID
    http_status: int
    rule: str
    detail: str
    extra: dict[str, Any] = Field(default_factory=dict)
    duplicate: bool = False


Outcome = Accepted | Rejected
