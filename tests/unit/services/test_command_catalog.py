"""The command catalog: one endpoint per domain command, each with a strict request model
that leaves who acts to the token."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

import services.commands.catalog  # noqa: F401  (registers every command)
from domain.case import Case
from domain.partner import Partner
from domain.referral import Referral
from domain.resource import Resource
from domain.volunteer import Volunteer
from services.commands import CATALOG, CommandBody

AGGREGATES = {"cases": Case, "volunteers": Volunteer, "resources": Resource,
              "partners": Partner, "referrals": Referral}
POLICY_ONLY = {"resources.expire", "resources.lapse_hold", "cases.record_seats_lapsed",
               "cases.mark_contact_overdue", "cases.suspect_lost_contact",
               "cases.mark_possible_duplicate"}
"""Domain commands only a policy issues (the tick: expiry, a hold's lapse), never a caller."""
SERVICE_ONLY = {"referrals.record_export"}
"""Domain commands the service sends itself before it shows something (a package handed
out is recorded first): internal, with no endpoint."""
TRANSPORT_SIDE = {"resources.hold_seats": "cases.hold_seats",
                  "resources.confirm_hold": "cases.confirm_seats",
                  "resources.release_hold": "cases.release_seats"}
"""A transport's side of a case's seat command: both streams change in one unit of work
(domain/seats.py), through the case's endpoint."""
MERGE = {"cases.merge_into": "cases.merge", "cases.take_in": "cases.merge"}
"""A merge changes both cases in one unit of work: the merged one closes into the survivor,
which takes it in (services/commands/duplicates.py)."""
AUDIT_COMMANDS = {"audit.grant": "AccessLog.grant", "audit.revoke": "AccessLog.revoke",
                  "audit.record_view": "AccessLog.record_view",
                  "audit.anchor": "AnchorLog.anchor"}
"""Audit commands act on the access and anchor logs (domain/access.py), one method each."""
CLOCK_COMMANDS = {"clock.tick": "Clock.tick"}
"""The admin's clock tick acts on the clock record (domain/clock.py)."""
WHO_ACTS = {"actor", "by", "meta", "reported_by", "verified_by"}


def domain_commands() -> set[str]:
    """`<aggregate>.<method>` for each public method of an aggregate that takes `meta`."""
    found = set()
    for prefix, aggregate in AGGREGATES.items():
        for name, member in vars(aggregate).items():
            function = member.__func__ if isinstance(member, classmethod) else member
            if name.startswith(("_", "ensure_")) or not inspect.isfunction(function):
                continue  # private, or a guard (it checks a rule, it records nothing)
            if "meta" in inspect.signature(function).parameters:
                found.add(f"{prefix}.{name}")
    return found


def models_within(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """The model and every model nested in its fields."""
    yield model
    for field in model.model_fields.values():
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from models_within(candidate)


def test_the_domain_commands_are_found() -> None:
    commands = domain_commands()

    assert {"cases.open", "cases.take", "volunteers.log_training", "resources.verify"} <= commands
    assert "cases.relies_on" not in commands


def test_every_domain_command_a_caller_may_send_has_an_endpoint() -> None:
    missing = (domain_commands() - POLICY_ONLY - SERVICE_ONLY - set(TRANSPORT_SIDE)
               - set(MERGE) - set(CATALOG))

    assert missing == set()


def test_each_transport_side_of_a_seat_command_has_a_case_endpoint() -> None:
    assert set(TRANSPORT_SIDE) <= domain_commands()
    assert set(TRANSPORT_SIDE.values()) <= set(CATALOG)


def test_every_endpoint_carries_out_a_domain_command() -> None:
    assert set(CATALOG) - domain_commands() - set(AUDIT_COMMANDS) - set(CLOCK_COMMANDS) \
        - set(MERGE.values()) == set()


def test_each_audit_command_names_a_method_of_the_access_or_anchor_log() -> None:
    from domain import access

    for method in AUDIT_COMMANDS.values():
        owner, name = method.split(".")
        assert callable(getattr(getattr(access, owner), name))


def test_each_clock_command_names_a_method_of_the_clock_record() -> None:
    from domain import clock

    for method in CLOCK_COMMANDS.values():
        owner, name = method.split(".")
        assert callable(getattr(getattr(clock, owner), name))


def test_no_two_commands_share_a_path() -> None:
    paths = [spec.path for spec in CATALOG.values()]

    assert len(paths) == len(set(paths))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_each_request_model_is_strict_and_idempotent(name: str) -> None:
    body = CATALOG[name].body

    assert issubclass(body, CommandBody)
    assert {"command_id", "expected_version", "correlation_id"} <= set(body.model_fields)
    assert all(m.model_config.get("extra") == "forbid" for m in models_within(body))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_no_request_model_lets_the_caller_say_who_acts(name: str) -> None:
    fields = {f for m in models_within(CATALOG[name].body) for f in m.model_fields}

    assert fields & WHO_ACTS == set()


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_each_command_names_its_roles_and_says_what_it_does(name: str) -> None:
    spec = CATALOG[name]

    assert spec.roles
    assert spec.summary and spec.summary != name
    assert spec.path.startswith(f"/{name.split('.')[0]}/")
