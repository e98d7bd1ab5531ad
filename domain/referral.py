"""Handing a case on to a partner organisation, with the person's consent.

A referral starts with the person's consent, recorded before anything is shared: what may be
shared (`ConsentScope`), with whom (one partner) and until when. It is then sent; the partner
answers (accepted or declined, later completed), through a supervisor or its own service.
Every package handed out is recorded; once the consent is withdrawn or has run out, nothing
more is shared. A case closes as 'referred_elsewhere' only on an accepted referral
(`Case.close`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import CoordinationError, InvalidCommand, Meta, PersonalData
from domain.errors import NotCaseAssignee, NotPermitted
from domain.roles import Authority, Role
from domain.volunteer import Volunteer, ensure_staff

if TYPE_CHECKING:
    from domain.case import Case
    from domain.partner import Partner


class ConsentScope(StrEnum):
    """What a consent lets the network share with a partner (each names intake answers)."""

    IDENTITY = "identity"
    """The person's name."""
    CONTACT = "contact"
    """How to reach them: channel and handle."""
    LOCATION = "location"
    """Region and exact location."""
    HOUSEHOLD = "household"
    """Adults, children's ages, pets."""
    NEEDS = "needs"
    """Mobility and medical needs; medicine, food, clothes needed."""
    HEALTH = "health"
    """Health details as told."""
    JOURNEY = "journey"
    """Destination, languages, urgency and where they are on the way."""


class ReferralStatus(StrEnum):
    """Where a referral stands."""

    CONSENTED = "consented"
    """The consent is recorded; nothing was sent yet."""
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


class Answer(StrEnum):
    """A partner's answer to a referral."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


ANSWERABLE_FROM = {Answer.ACCEPTED: ReferralStatus.SENT, Answer.DECLINED: ReferralStatus.SENT,
                   Answer.COMPLETED: ReferralStatus.ACCEPTED}
"""The status each answer follows: a partner accepts or declines what was sent, and
completes what it accepted."""
SHARED_WHILE = frozenset({ReferralStatus.SENT, ReferralStatus.ACCEPTED,
                          ReferralStatus.COMPLETED})
"""A package is handed out only for a referral sent and not declined."""


class InvalidConsent(InvalidCommand):
    """A consent names at least one thing to share, known ones only, and ends after it starts."""


class ConsentNotCurrent(CoordinationError):
    """The consent was withdrawn or has run out: nothing more is shared under it."""


class ConsentAlreadyWithdrawn(CoordinationError):
    """The consent was withdrawn already."""


class ReferralNotSent(CoordinationError):
    """Nothing is shared before the referral is sent, nor after the partner declined it."""


class ReferralAlreadySent(CoordinationError):
    """A referral is sent once."""


class AnswerOutOfOrder(CoordinationError):
    """A partner accepts or declines a sent referral, and completes an accepted one."""


class NotThePartnersReferral(NotPermitted):
    """A partner's service acts only on referrals made to that partner."""


class PersonErased(CoordinationError):
    """The person's data was erased: nothing about them is shared any more."""


class ReferralNotAccepted(CoordinationError):
    """A case closes as 'referred_elsewhere' only through a referral of that case the partner
    accepted (or completed)."""


def scope_of(names: Iterable[str]) -> list[str]:
    """The consent's scope as sorted known names (InvalidConsent for none or unknown ones)."""
    known = {s.value for s in ConsentScope}
    wanted = sorted(set(names))
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        raise InvalidConsent(f"a consent names what may be shared, from: {', '.join(sorted(known))}"
                             + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return wanted


def ensure_caseworker(case: Case, by: Volunteer) -> None:
    """The case's assignee or a supervisor, in good standing, acts on its referrals."""
    by.ensure_active()
    if not case.is_assigned_to(by.id) and not by.has_role(Role.SUPERVISOR):
        raise NotCaseAssignee(f"volunteer {by.id} does not hold case {case.id}")


class Referral(CoordinationAggregate):
    """One case handed on to one partner, under the person's consent."""

    @classmethod
    def record_consent(cls, *, referral_id: UUID, case: Case, partner: Partner,
                       scope: Iterable[str], until: datetime, statement: str, by: Volunteer,
                       meta: Meta) -> Referral:
        """The assignee or a supervisor records what the person agreed may be shared with the
        partner, until when, and how they said so (`statement`, sealed as theirs)."""
        ensure_caseworker(case, by)
        if not case.is_active:
            raise ReferralNotSent(f"case {case.id} is closed: reopen it to refer it")
        if case.personal.erased:
            raise PersonErased(f"the personal data of case {case.id} was erased")
        if until <= meta.at:
            raise InvalidConsent("a consent must end after it is given")
        return cls(id=referral_id, case_id=case.id, person_id=case.person_id,
                   partner_id=partner.id, scope=scope_of(scope), until=until,
                   personal=PersonalData.of(case.person_id, statement=statement),
                   recorded_by=by.id, meta=meta)

    @event("ConsentRecorded")
    def __init__(self, id: UUID, case_id: UUID, person_id: UUID, partner_id: UUID,
                 scope: list[str], until: datetime, personal: PersonalData, recorded_by: UUID,
                 meta: Meta) -> None:
        self.case_id, self.person_id, self.partner_id = case_id, person_id, partner_id
        self.scope, self.until = list(scope), until
        self.consent = personal
        self.consented_at = meta.at
        self.withdrawn_at: datetime | None = None
        self._status = ReferralStatus.CONSENTED.value
        self.sent_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.exports = 0

    # --- queries ---------------------------------------------------------------------------

    @property
    def status(self) -> ReferralStatus:
        return ReferralStatus(self._status)

    def consent_current(self, at: datetime) -> bool:
        """True while the consent holds: not withdrawn, not run out."""
        return self.withdrawn_at is None and at < self.until

    @property
    def is_accepted(self) -> bool:
        """True once the partner took the case on (accepted, maybe completed since)."""
        return self.status in (ReferralStatus.ACCEPTED, ReferralStatus.COMPLETED)

    # --- commands --------------------------------------------------------------------------

    def send(self, *, case: Case, by: Volunteer, meta: Meta) -> None:
        """The assignee or a supervisor sends the referral, while the consent holds."""
        ensure_caseworker(case, by)
        if self.status is not ReferralStatus.CONSENTED:
            raise ReferralAlreadySent(f"referral {self.id} is {self._status}")
        self._ensure_consent(meta.at)
        self._record_sent(partner_id=self.partner_id, sent_by=by.id, meta=meta)

    def answer(self, *, answer: Answer, by: Authority, partner_id: UUID | None,
               meta: Meta) -> None:
        """The partner's answer, recorded by its own service (`partner_id`, from its token)
        or by a supervisor or admin (`partner_id` None)."""
        self._ensure_partner_or_staff(by, partner_id, "record a partner's answer")
        answer = Answer(answer)
        if self.status is not ANSWERABLE_FROM[answer]:
            raise AnswerOutOfOrder(f"referral {self.id} is {self._status}: '{answer.value}' "
                                   f"follows '{ANSWERABLE_FROM[answer].value}'")
        self._record_answered(answer=answer.value, answered_by=by.actor, meta=meta)

    def withdraw_consent(self, *, case: Case, reason: str, by: Volunteer, meta: Meta) -> None:
        """The person withdrew their consent (the assignee or a supervisor records it, on an
        open or closed case): nothing more is shared under it."""
        ensure_caseworker(case, by)
        if self.withdrawn_at is not None:
            raise ConsentAlreadyWithdrawn(f"the consent of referral {self.id} was withdrawn")
        said = (PersonalData.erased_for(self.person_id) if case.personal.erased
                else PersonalData.of(self.person_id, reason=reason))
        self._record_withdrawn(withdrawn_by=by.id, personal=said, meta=meta)

    def ensure_may_share(self, *, case: Case, meta: Meta) -> None:
        """Raise unless a package may be handed out now: sent and not declined, the consent
        holding, the person's data not erased."""
        if self.status not in SHARED_WHILE:
            raise ReferralNotSent(f"referral {self.id} is {self._status}: nothing is shared")
        self._ensure_consent(meta.at)
        if case.personal.erased:
            raise PersonErased(f"the personal data of case {case.id} was erased")

    def record_export(self, *, case: Case, format: str, by: Authority,
                      partner_id: UUID | None, volunteer: Volunteer | None,
                      meta: Meta) -> None:
        """Record that a package was handed out (before it is): to the partner's own service
        (`partner_id`), or to the case's assignee or a supervisor (`volunteer`) who passes it
        on by hand."""
        if partner_id is not None:
            self._ensure_partner(partner_id)
        elif volunteer is not None:
            ensure_caseworker(case, volunteer)
        else:
            ensure_staff(by, "export a referral package")
        self.ensure_may_share(case=case, meta=meta)
        self._record_exported(format=format, exported_by=by.actor, scope=list(self.scope),
                              meta=meta)

    # --- guards ----------------------------------------------------------------------------

    def _ensure_consent(self, at: datetime) -> None:
        if self.withdrawn_at is not None:
            raise ConsentNotCurrent(f"the consent of referral {self.id} was withdrawn")
        if at >= self.until:
            raise ConsentNotCurrent(f"the consent of referral {self.id} ran out at "
                                    f"{self.until.isoformat()}")

    def _ensure_partner(self, partner_id: UUID) -> None:
        if partner_id != self.partner_id:
            raise NotThePartnersReferral(f"referral {self.id} was not made to partner "
                                         f"{partner_id}")

    def _ensure_partner_or_staff(self, by: Authority, partner_id: UUID | None,
                                 act: str) -> None:
        if partner_id is not None:
            self._ensure_partner(partner_id)
        else:
            ensure_staff(by, act)

    # --- events ----------------------------------------------------------------------------

    @event("ReferralSent")
    def _record_sent(self, partner_id: UUID, sent_by: UUID, meta: Meta) -> None:
        self._status = ReferralStatus.SENT.value
        self.sent_at = meta.at

    @event("ReferralAnswered")
    def _record_answered(self, answer: str, answered_by: str, meta: Meta) -> None:
        self._status = ReferralStatus(answer).value
        self.answered_at = meta.at

    @event("ConsentWithdrawn")
    def _record_withdrawn(self, withdrawn_by: UUID, personal: PersonalData,
                          meta: Meta) -> None:
        self.withdrawn_at = meta.at

    @event("ReferralPackageExported")
    def _record_exported(self, format: str, exported_by: str, scope: list[str],
                         meta: Meta) -> None:
        self.exports += 1
