"""A referral package holds what the consent covers and nothing else (pure: no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.base import Meta
from domain.case import Case
from domain.intake import Intake
from domain.partner import Partner
from domain.referral import ConsentScope, Referral
from domain.roles import Authority, Role
from domain.volunteer import Volunteer
from services.api.referral_package import html, package

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
ADMIN = Authority(actor="admin", roles=frozenset({Role.ADMIN}))
PERSONAL = {"name": "Olena Kovalenko", "contact_handle": "@olena_kv",
            "exact_location": "Sumska 12, flat 4", "health_details": "insulin twice a day",
            "notes": "afraid of the dog at the checkpoint"}
CARRIED_BY = {"identity": "Olena Kovalenko", "contact": "@olena_kv",
              "location": "Sumska 12, flat 4", "health": "insulin twice a day"}


def meta() -> Meta:
    command = uuid4()
    return Meta(actor="admin", at=T0, command_id=command, correlation_id=command)


def referral_of(scope: list[str]) -> tuple[Case, Referral]:
    case = Case.open(case_id=uuid4(), person_id=uuid4(), meta=meta(), intake=Intake(
        safe_now=False, region="Kharkiv", destination="Lviv", contact_channel="telegram",
        adults=2, children_ages=[4], languages=["uk"], mobility_needs=True, **PERSONAL))
    supervisor = Volunteer.register(volunteer_id=uuid4(), display_name="S", languages=["uk"],
                                    time_zone="UTC", roles=[Role.SUPERVISOR], by=ADMIN,
                                    meta=meta())
    partner = Partner.register(partner_id=uuid4(), name="Border <Aid>", kind="ngo",
                               contact_channel="email", contact="desk@example.org", by=ADMIN,
                               meta=meta())
    referral = Referral.record_consent(referral_id=uuid4(), case=case, partner=partner,
                                       scope=scope, until=T0 + timedelta(days=3),
                                       statement="yes", by=supervisor, meta=meta())
    return case, referral


@given(st.sets(st.sampled_from([s.value for s in ConsentScope]), min_size=1))
def test_a_package_never_holds_what_the_consent_leaves_out(scope: set[str]) -> None:
    case, referral = referral_of(sorted(scope))

    document = package(case=case, referral=referral, partner_name="Border Aid",
                       personal=PERSONAL, exported_at=T0)
    printed = html(document)

    assert set(document["shared"]) == scope
    for name, value in CARRIED_BY.items():
        for text in (str(document), printed):
            assert (value in text) == (name in scope)
    assert PERSONAL["notes"] not in str(document) + printed
    assert str(case.id) not in str(document) + printed


def test_the_printed_package_escapes_what_it_shows() -> None:
    case, referral = referral_of(["journey"])
    document = package(case=case, referral=referral, partner_name="Border <Aid>",
                       personal=PERSONAL, exported_at=T0)

    assert "Border &lt;Aid&gt;" in html(document) and "<Aid>" not in html(document)
