"""Helpers shared by command handlers: who is acting, and pydantic building blocks."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, Strict, StringConstraints

from domain.base import Meta
from domain.errors import NotPermitted
from domain.volunteer import Volunteer
from projections.views.common import no_nul
from services.unit_of_work import UnitOfWork

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
                 AfterValidator(no_nul)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=200), AfterValidator(no_nul)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000),
                         AfterValidator(no_nul)]
Whole = Annotated[int, Strict()]
"""A JSON integer: true, 1.5 or "3" are refused, not read as 1, 1 or 3."""
Flag = Annotated[bool, Strict()]
"""JSON true or false: 1, 0 or "yes" are refused."""
Minutes = Annotated[Whole, Field(gt=0, le=1440)]


def known_time_zone(name: str) -> str:
    """An IANA time zone name this machine knows (e.g. Europe/Kyiv)."""
    if name == "UTC":
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as "
                         "Europe/Kyiv or UTC") from None
    return name


TimeZone = Annotated[ShortText, AfterValidator(known_time_zone)]


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
