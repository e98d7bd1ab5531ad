"""Handing a case on, where the server can: the person's consent first (what may be shared,
with which partner, until when), the referral sent, the partner's own service reading the
package and answering with its partner token, and the case closed as referred through the
referral the partner accepted; now and then the person withdraws their consent."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from services.simulate.commands import ADMIN, Actor, new_id
from services.simulate.stories.casework import act, pause
from services.simulate.stories.common import Plot, Steps
from services.simulate.world import CaseFile

CONSENT = "/referrals/record-consent"
PARTNERS = (("Border Aid Uzhhorod", "ngo"), ("Medical Evacuation Team", "ngo"),
            ("Lviv Shelter Operators", "shelter_operator"))
SCOPE = ["contact", "needs", "journey"]


def partner_actor(partner_id: UUID) -> Actor:
    """The partner organisation's own service, as its partner token names it."""
    return Actor(f"partner:{partner_id}", ("partner",))


def partner_for(p: Plot) -> Steps:
    """A registered partner (the admin registers the network's partners when first needed);
    None if it could not be."""
    if not p.world.partners:
        for name, kind in PARTNERS:
            partner_id = new_id(p.rng)
            desk = f"intake.{partner_id.hex[:6]}@partners.example.org"
            p.world.keep_personal(desk)
            answer = yield from p.do("register_partner", "/partners/register", ADMIN,
                                     partner_id=partner_id, name=name, kind=kind,
                                     contact_channel="email", contact=desk)
            if answer.ok:
                p.world.partners.append(partner_id)
    return p.rng.choice(p.world.partners) if p.world.partners else None


def refer(p: Plot, case: CaseFile) -> Steps:
    """Refer the case to a partner with the person's consent; the accepted referral's id, or
    None (the server has no referrals, nobody holds the case, or the partner declined)."""
    if not p.world.can(CONSENT) or case.assignee is None:
        return None
    partner_id = yield from partner_for(p)
    if partner_id is None:
        return None
    referral_id = new_id(p.rng)
    statement = f"Agreed on the phone to share {', '.join(SCOPE)} (ref {case.id.hex[:6]})"
    p.world.keep_personal(statement)
    until = p.world.at(p.now) + timedelta(days=30)
    consented = yield from act(p, case, "consent", CONSENT, referral_id=referral_id,
                               partner_id=partner_id, scope=SCOPE, until=until.isoformat(),
                               statement=statement)
    if not consented.ok:
        return None
    sent = yield from p.do("refer", "/referrals/send", case.assignee.actor,
                           referral_id=referral_id)
    if not sent.ok:
        return None
    p.world.tally.events["cases referred to a partner"] += 1
    yield from pause(p, case, 20, 90)
    partner = partner_actor(partner_id)
    yield from p.look(f"/referrals/{referral_id}/package", partner, purpose="intake")
    accepted = p.chance(0.85)
    answer = yield from p.do("partner_answer", "/referrals/answer", partner,
                             referral_id=referral_id,
                             answer="accepted" if accepted else "declined")
    if not (answer.ok and accepted):
        p.world.tally.events["referrals declined by the partner"] += 1
        return None
    holder = case.assignee  # who holds the case now: it may have changed hands meanwhile
    if p.chance(0.1) and holder is not None:
        yield from p.do("withdraw_consent", "/referrals/withdraw-consent", holder.actor,
                        referral_id=referral_id, reason="she asked us to share nothing more")
    return referral_id
