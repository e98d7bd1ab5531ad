"""Who people in the network are (roles) and how events name a policy acting on its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


BASE_ROLE = Role.VOLUNTEER
"""The role a registration gives by itself: it lets a person train and, once cleared, take
cases, and gives no say over anyone else. Every other role is a grant."""

ROLE_GRANTER = Role.ADMIN
"""The one role that grants roles (grant-role, revoke-role): the network's admins decide who
checks facts, supervises, counsels or audits."""

STAFF_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""Roles that register volunteers, log their training and decide who may audit them."""


def network_roles(names: Iterable[str]) -> frozenset[Role]:
    """The network's roles among these names (a credential may also carry e.g. 'intake')."""
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in names if name in known)


@dataclass(frozen=True)
class Authority:
    """Who carries a command out and the roles they act with now.

    For a registered volunteer: the roles they hold, in good standing, that their credential
    names too (`Volunteer.authority`); a token outlives a revoked role or a ban, the volunteer's
    record does not. For a credential naming no volunteer (an operator's, a service's): the
    roles it names.
    """

    actor: str
    roles: frozenset[Role]

    def holds_any(self, roles: Iterable[Role]) -> bool:
        """True when this authority acts in at least one of the roles."""
        return not self.roles.isdisjoint(roles)

    def may_grant(self, role: Role) -> bool:
        """True when this authority may give another person the role: only an admin grants
        roles, so anyone else may give none (a registration's base role is no grant)."""
        return ROLE_GRANTER in self.roles

    def roles_beyond_grant(self, roles: Iterable[Role]) -> frozenset[Role]:
        """Of the roles given to someone at registration, those this authority could not grant
        (the base role needs no grant)."""
        return frozenset(r for r in roles if r is not BASE_ROLE and not self.may_grant(r))
