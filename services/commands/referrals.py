"""Partner organisations and referrals: the person's consent first, the referral sent, the
partner's answer (a supervisor's, or its own service's with a partner token), every package
handed out recorded before it is shown, consent withdrawn."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from domain.access import AccessLog, access_log_id
from domain.base import Meta
from domain.case import Case
from domain.partner import Partner
from domain.referral import Answer, ConsentScope, Referral
from domain.volunteer import Volunteer
from projections.views.common import Moment
from services.auth import PARTNER_ACTOR_PREFIX
from services.auth import CallerRole as R
from services.commands.common import ShortText, Text, acting, authority
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork

CASEWORKERS = {R.VOLUNTEER, R.SUPERVISOR}
STAFF = {R.SUPERVISOR, R.ADMIN}
PACKAGE_VIEW = "referral_package"
"""The view an access log records for every package handed out."""


class ReferralCommand(CommandBody):
    referral_id: UUID

    def streams(self) -> set[UUID]:
        found = super().streams()
        if self.starts != "referral_id":
            found.add(self.referral_id)
        return found


class RegisterPartner(CommandBody):
    starts = "partner_id"
    partner_id: UUID
    name: ShortText = Field(description="the organisation's name, readable")
    kind: ShortText = Field(description="e.g. ngo, network, shelter_operator")
    contact_channel: ShortText = Field(description="how it takes referrals: email, telegram, "
                                                   "phone, api")
    contact: ShortText = Field(description="the address on that channel; sealed (a desk's "
                                           "number is often one person's)")


class ChangePartnerContact(CommandBody):
    partner_id: UUID
    contact_channel: ShortText
    contact: ShortText

    def streams(self) -> set[UUID]:
        return {*super().streams(), self.partner_id}


class RecordConsent(ReferralCommand):
    starts = "referral_id"
    case_id: UUID
    partner_id: UUID
    scope: list[ConsentScope] = Field(min_length=1, max_length=len(ConsentScope),
                                      description="what may be shared with the partner")
    until: Moment = Field(description="when the consent ends")
    statement: Text = Field(description="how the person said so (sealed as theirs)")

    def streams(self) -> set[UUID]:
        return {*super().streams(), self.partner_id}


class SendReferral(ReferralCommand):
    pass


class AnswerReferral(ReferralCommand):
    answer: Answer


class WithdrawConsent(ReferralCommand):
    reason: Text


class RecordExport(ReferralCommand):
    """Internal: the service records a package handed out before it shows it."""

    format: Literal["json", "html"]
    purpose: ShortText


def partner_of(uow: UnitOfWork, meta: Meta) -> UUID | None:
    """The partner organisation whose service sends the command (a partner token: role
    'partner', subject 'partner:<id>', checked when the token was read), else None."""
    if uow.credential_roles is None or R.PARTNER.value not in uow.credential_roles:
        return None
    return UUID(meta.actor.removeprefix(PARTNER_ACTOR_PREFIX))


@command("partners.register", "/partners/register", STAFF)
def register_partner(body: RegisterPartner, uow: UnitOfWork, meta: Meta) -> UUID:
    """Register a partner organisation and the channel it takes referrals on."""
    partner = Partner.register(partner_id=body.partner_id, name=body.name, kind=body.kind,
                               contact_channel=body.contact_channel, contact=body.contact,
                               by=authority(uow, meta), meta=meta)
    uow.add(partner)
    return partner.id


@command("partners.change_contact", "/partners/change-contact", STAFF)
def change_partner_contact(body: ChangePartnerContact, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record a new way of reaching a partner organisation."""
    partner = uow.get(Partner, body.partner_id)
    partner.change_contact(contact_channel=body.contact_channel, contact=body.contact,
                           by=authority(uow, meta), meta=meta)
    return partner.id


@command("referrals.record_consent", "/referrals/record-consent", CASEWORKERS)
def record_consent(body: RecordConsent, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record the person's consent to share (what, with which partner, until when): a
    referral starts with it, before anything is shared."""
    referral = Referral.record_consent(
        referral_id=body.referral_id, case=uow.get(Case, body.case_id),
        partner=uow.get(Partner, body.partner_id), scope=body.scope, until=body.until,
        statement=body.statement, by=acting(uow, meta), meta=meta)
    uow.add(referral)
    return referral.id


@command("referrals.send", "/referrals/send", CASEWORKERS)
def send(body: SendReferral, uow: UnitOfWork, meta: Meta) -> UUID:
    """Send a referral to its partner while the consent holds."""
    referral = uow.get(Referral, body.referral_id)
    referral.send(case=uow.get(Case, referral.case_id), by=acting(uow, meta), meta=meta)
    return referral.id


@command("referrals.answer", "/referrals/answer", {R.SUPERVISOR, R.PARTNER})
def answer(body: AnswerReferral, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record the partner's answer (accepted, declined, completed): by a supervisor, or by
    the partner's own service on a referral made to it."""
    referral = uow.get(Referral, body.referral_id)
    referral.answer(answer=body.answer, by=authority(uow, meta),
                    partner_id=partner_of(uow, meta), meta=meta)
    return referral.id


@command("referrals.withdraw_consent", "/referrals/withdraw-consent", CASEWORKERS)
def withdraw_consent(body: WithdrawConsent, uow: UnitOfWork, meta: Meta) -> UUID:
    """The person withdrew their consent: nothing more is shared with the partner."""
    referral = uow.get(Referral, body.referral_id)
    referral.withdraw_consent(case=uow.get(Case, referral.case_id), reason=body.reason,
                              by=acting(uow, meta), meta=meta)
    return referral.id


@command("referrals.record_export", "", set(), internal=True)
def record_export(body: RecordExport, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record a package handed out, on the referral and in the case's access log."""
    referral = uow.get(Referral, body.referral_id)
    case = uow.get(Case, referral.case_id)
    partner_id = partner_of(uow, meta)
    volunteer = None if partner_id is not None else _volunteer(uow, meta)
    referral.record_export(case=case, format=body.format, by=authority(uow, meta),
                           partner_id=partner_id, volunteer=volunteer, meta=meta)
    log = uow.find(AccessLog, access_log_id(case.id))
    if log is None:
        log = AccessLog.open_for(stream_id=case.id, meta=meta)
        uow.add(log)
    basis = "partner_referral" if partner_id is not None else "referral_handover"
    log.record_need_to_know_view(viewer=meta.actor, basis=basis, purpose=body.purpose,
                                 view=PACKAGE_VIEW, subject_ids=[case.person_id], meta=meta)
    return referral.id


def _volunteer(uow: UnitOfWork, meta: Meta) -> Volunteer | None:
    try:
        return uow.find(Volunteer, UUID(meta.actor))
    except ValueError:
        return None
