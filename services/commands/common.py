"""Helpers shared by command handlers: who is acting, and pydantic building blocks."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from domain.base import Meta
from domain.errors import NotPermitted
from domain.volunteer import Volunteer
from services.unit_of_work import UnitOfWork

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Minutes = Annotated[int, Field(gt=0, le=1440)]


class ActorNotRegistered(NotPermitted):
    """The caller's credential does not name a registered volunteer."""


def acting(uow: UnitOfWork, meta: Meta) -> Volunteer:
    """The registered volunteer behind the caller's credential."""
    try:
        volunteer_id = UUID(meta.actor)
    except ValueError:
        raise ActorNotRegistered(f"actor {meta.actor!r} is not a registered volunteer; this "
                                 "command needs a volunteer's token") from None
    volunteer = uow.find(Volunteer, volunteer_id)
    if volunteer is None:
        raise ActorNotRegistered(f"actor {meta.actor} is not a registered volunteer")
    return volunteer
