"""Who people in the network are (roles) and how events name a policy acting on its own."""

from __future__ import annotations

from enum import StrEnum

from domain.base import Meta

POLICY_ACTOR_PREFIX = "policy:"


class Role(StrEnum):
    """A role a volunteer can hold; values match the roles credentials carry."""

    VOLUNTEER = "volunteer"
    SUPERVISOR = "supervisor"
    FACT_CHECKER = "fact_checker"
    PSYCHOLOGIST = "psychologist"
    AUDITOR = "auditor"
    ADMIN = "admin"


def policy_actor(name: str) -> str:
    """The actor recorded on a follow-up command issued by the named policy."""
    return f"{POLICY_ACTOR_PREFIX}{name}"


def is_policy_actor(meta: Meta) -> bool:
    """True when the command was issued by a policy rather than a person."""
    return meta.actor.startswith(POLICY_ACTOR_PREFIX)
