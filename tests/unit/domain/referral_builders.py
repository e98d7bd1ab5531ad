"""Builders for referral tests: a partner, a consent, a referral sent and accepted."""

from __future__ import annotations

from collections.abc import Iterable

from domain_builders import OPERATOR, later, meta, new_id

from domain.case import Case
from domain.partner import Partner
from domain.referral import Answer, Referral
from domain.roles import Authority, Role
from domain.volunteer import Volunteer

STAFF = Authority(actor="supervisor:test", roles=frozenset({Role.SUPERVISOR}))


def partner(name: str = "Border Aid") -> Partner:
    """A registered partner organisation."""
    return Partner.register(partner_id=new_id(), name=name, kind="ngo",
                            contact_channel="email", contact="desk@border-aid.example",
                            by=OPERATOR, meta=meta())


def consented(case: Case, by: Volunteer, to: Partner | None = None,
              scope: Iterable[str] = ("contact", "household"),
              days: float = 7) -> Referral:
    """A referral of the case with the person's consent recorded, not sent yet."""
    return Referral.record_consent(
        referral_id=new_id(), case=case, partner=to or partner(), scope=scope,
        until=later(days=days), statement="said yes on the phone", by=by, meta=meta())


def sent(case: Case, by: Volunteer, **kwargs: object) -> Referral:
    """A referral of the case, consented and sent."""
    referral = consented(case, by, **kwargs)  # type: ignore[arg-type]
    referral.send(case=case, by=by, meta=meta())
    return referral


def accepted(case: Case, by: Volunteer) -> Referral:
    """A referral of the case that the partner accepted."""
    referral = sent(case, by)
    referral.answer(answer=Answer.ACCEPTED, by=STAFF, partner_id=None, meta=meta())
    return referral
