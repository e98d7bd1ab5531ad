"""Helpers shared by command handlers: who is acting, and pydantic building blocks."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, Strict, StringConstraints

from domain.base import Meta
from domain.errors import NotPermitted
from domain.roles import Authority, Role, network_roles
from domain.volunteer import Volunteer
from projections.views.common import no_nul
from services.runtime.unit_of_work import UnitOfWork

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


def authority(uow: UnitOfWork, meta: Meta) -> Authority:
    """The roles the caller acts with: a registered volunteer's own, in good standing, as far
    as their credential names them (`Volunteer.authority`); for a credential naming no
    volunteer (an operator's, a service's), the roles it names; for the service's own tools
    (no credential), every role."""
    credential = uow.credential_roles
    volunteer = _registered(uow, meta.actor)
    if volunteer is not None:
        return volunteer.authority(credential)
    roles = frozenset(Role) if credential is None else network_roles(credential)
    return Authority(actor=meta.actor, roles=roles)


def _registered(uow: UnitOfWork, actor: str) -> Volunteer | None:
    try:
        volunteer_id = UUID(actor)
    except ValueError:
        return None
    return uow.find(Volunteer, volunteer_id)


class _Repeated(Exception):
    pass


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) < 2 or len({key for key, _ in pairs}) == len(pairs):
        return  # the usual case, in one set built in C
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)


_PAIRS = json.JSONDecoder(object_pairs_hook=_refuse_repeats)
"""Made once: json.loads with a hook builds a decoder on every call."""


def repeated_key(document: bytes | str) -> str | None:
    """A key that some object of this JSON document names twice, or None. Parsers keep one
    of the two silently (pydantic and orjson the last, others the first), so a command a
    proxy, a log or an auditor reads one way could be carried out another: such a command is
    refused instead. It costs one more parse of the document, small beside validation; a
    document that is not JSON, or nested too deep to parse here, gives None (its error is
    reported where it is parsed)."""
    try:
        if isinstance(document, str):
            if document.startswith("\ufeff"):  # as json.loads, which refuses it
                return None
            _PAIRS.decode(document)
        else:
            _PAIRS.decode(document.decode(json.detect_encoding(document), "surrogatepass"))
    except _Repeated as found:
        return str(found.args[0])
    except (ValueError, RecursionError):
        return None
    return None


def repeated_key_message(key: str) -> str:
    return f"the key {key!r} appears more than once in one object; send each key once"
