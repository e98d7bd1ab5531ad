"""Handing a case on: consent first, sent, answered by the partner, shared only while the
consent holds, closed as referred only through an accepted referral."""

from __future__ import annotations

import pytest
from domain_builders import later, meta, new_id, open_case, supervisor, taken_case, volunteer
from referral_builders import STAFF, accepted, consented, partner, sent

from domain.base import PersonalData
from domain.errors import NotASupervisor, NotCaseAssignee
from domain.partner import Partner
from domain.referral import (
    Answer,
    AnswerOutOfOrder,
    ConsentAlreadyWithdrawn,
    ConsentNotCurrent,
    InvalidConsent,
    NotThePartnersReferral,
    PersonErased,
    Referral,
    ReferralAlreadySent,
    ReferralNotAccepted,
    ReferralNotSent,
    ReferralStatus,
)
from domain.roles import Authority, Role
from domain.vocabulary import CaseOutcome, CaseStatus

PARTNER_SERVICE = Authority(actor="partner:x", roles=frozenset())


def test_the_consent_is_recorded_before_anything_and_its_statement_is_the_persons() -> None:
    case, holder = taken_case()
    referral = consented(case, holder, scope=["household", "contact", "household"])

    assert referral.status is ReferralStatus.CONSENTED
    assert referral.scope == ["contact", "household"]
    assert referral.consent.subject_id == case.person_id
    assert referral.consent_current(later(days=1))
    assert not referral.consent_current(later(days=8))


@pytest.mark.parametrize("scope", [[], ["everything"], ["contact", "bank_account"]])
def test_a_consent_names_known_things_to_share(scope: list[str]) -> None:
    case, holder = taken_case()
    with pytest.raises(InvalidConsent):
        consented(case, holder, scope=scope)


def test_a_consent_ends_after_it_is_given() -> None:
    case, holder = taken_case()
    with pytest.raises(InvalidConsent):
        Referral.record_consent(referral_id=new_id(), case=case, partner=partner(),
                                scope=["contact"], until=later(), statement="yes",
                                by=holder, meta=meta(at=later(minutes=5)))


def test_only_the_assignee_or_a_supervisor_records_a_consent() -> None:
    case, _ = taken_case()
    with pytest.raises(NotCaseAssignee):
        consented(case, volunteer())
    assert consented(case, supervisor()).status is ReferralStatus.CONSENTED


def test_an_erased_person_is_referred_to_no_one() -> None:
    case, holder = taken_case()
    case.erase_personal_data(subject_id=case.person_id, by=STAFF, meta=meta())
    with pytest.raises(PersonErased):
        consented(case, holder)


def test_a_referral_is_sent_once_and_only_while_the_consent_holds() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    assert referral.status is ReferralStatus.SENT
    with pytest.raises(ReferralAlreadySent):
        referral.send(case=case, by=holder, meta=meta())

    late = consented(case, holder, days=1)
    with pytest.raises(ConsentNotCurrent):
        late.send(case=case, by=holder, meta=meta(at=later(days=2)))


def test_the_partners_service_answers_only_its_own_referrals() -> None:
    case, holder = taken_case()
    ours = partner()
    referral = sent(case, holder, to=ours)

    with pytest.raises(NotThePartnersReferral):
        referral.answer(answer=Answer.ACCEPTED, by=PARTNER_SERVICE, partner_id=new_id(),
                        meta=meta())
    referral.answer(answer=Answer.ACCEPTED, by=PARTNER_SERVICE, partner_id=ours.id,
                    meta=meta())
    assert referral.status is ReferralStatus.ACCEPTED


def test_without_a_partner_token_only_staff_record_an_answer() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    caseworker = Authority(actor=str(holder.id), roles=frozenset({Role.VOLUNTEER}))
    with pytest.raises(NotASupervisor):
        referral.answer(answer=Answer.ACCEPTED, by=caseworker, partner_id=None, meta=meta())


def test_answers_follow_the_referral() -> None:
    case, holder = taken_case()
    referral = consented(case, holder)
    with pytest.raises(AnswerOutOfOrder):  # not sent yet
        referral.answer(answer=Answer.ACCEPTED, by=STAFF, partner_id=None, meta=meta())
    referral.send(case=case, by=holder, meta=meta())
    with pytest.raises(AnswerOutOfOrder):  # completes only what it accepted
        referral.answer(answer=Answer.COMPLETED, by=STAFF, partner_id=None, meta=meta())
    referral.answer(answer=Answer.DECLINED, by=STAFF, partner_id=None, meta=meta())
    with pytest.raises(AnswerOutOfOrder):
        referral.answer(answer=Answer.ACCEPTED, by=STAFF, partner_id=None, meta=meta())


def test_a_package_is_shared_only_once_sent_while_the_consent_holds() -> None:
    case, holder = taken_case()
    referral = consented(case, holder)
    with pytest.raises(ReferralNotSent):
        referral.ensure_may_share(case=case, meta=meta())
    referral.send(case=case, by=holder, meta=meta())
    referral.record_export(case=case, format="json", by=STAFF, partner_id=referral.partner_id,
                           volunteer=None, meta=meta())
    assert referral.exports == 1

    with pytest.raises(ConsentNotCurrent):
        referral.ensure_may_share(case=case, meta=meta(at=later(days=30)))


def test_withdrawing_consent_stops_further_sharing() -> None:
    case, holder = taken_case()
    referral = accepted(case, holder)
    referral.withdraw_consent(case=case, reason="changed her mind", by=holder, meta=meta())

    assert referral.withdrawn_at is not None
    with pytest.raises(ConsentNotCurrent):
        referral.record_export(case=case, format="html", by=STAFF,
                               partner_id=referral.partner_id, volunteer=None, meta=meta())
    with pytest.raises(ConsentAlreadyWithdrawn):
        referral.withdraw_consent(case=case, reason="again", by=holder, meta=meta())


def test_a_declined_referral_shares_nothing_more() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    referral.answer(answer=Answer.DECLINED, by=STAFF, partner_id=None, meta=meta())
    with pytest.raises(ReferralNotSent):
        referral.ensure_may_share(case=case, meta=meta())


def test_nothing_is_shared_once_the_person_is_erased() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    case.erase_personal_data(subject_id=case.person_id, by=STAFF, meta=meta())
    with pytest.raises(PersonErased):
        referral.ensure_may_share(case=case, meta=meta())


def test_another_partner_gets_no_package() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    with pytest.raises(NotThePartnersReferral):
        referral.record_export(case=case, format="json", by=PARTNER_SERVICE,
                               partner_id=new_id(), volunteer=None, meta=meta())
    with pytest.raises(NotCaseAssignee):
        referral.record_export(case=case, format="json", by=PARTNER_SERVICE, partner_id=None,
                               volunteer=volunteer(), meta=meta())


def test_a_case_closes_as_referred_only_through_an_accepted_referral_of_its_own() -> None:
    case, holder = taken_case()
    with pytest.raises(ReferralNotAccepted):
        case.close(outcome=CaseOutcome.REFERRED_ELSEWHERE, by=holder, meta=meta())
    with pytest.raises(ReferralNotAccepted):
        case.close(outcome=CaseOutcome.REFERRED_ELSEWHERE, by=holder, meta=meta(),
                   referral=sent(case, holder))
    other, other_holder = taken_case()
    with pytest.raises(ReferralNotAccepted):
        case.close(outcome=CaseOutcome.REFERRED_ELSEWHERE, by=holder, meta=meta(),
                   referral=accepted(other, other_holder))

    case.close(outcome=CaseOutcome.REFERRED_ELSEWHERE, by=holder, meta=meta(),
               referral=accepted(case, holder))
    assert case.status is CaseStatus.CLOSED


def test_a_withdrawal_on_an_erased_person_keeps_no_reason() -> None:
    case, holder = taken_case()
    referral = sent(case, holder)
    case.erase_personal_data(subject_id=case.person_id, by=STAFF, meta=meta())
    referral.withdraw_consent(case=case, reason="she asked", by=holder, meta=meta())
    said = referral.pending_events[-1].personal  # type: ignore[attr-defined]
    assert isinstance(said, PersonalData) and said.erased


def test_an_unassigned_case_is_referred_by_a_supervisor() -> None:
    case = open_case()
    assert consented(case, supervisor()).case_id == case.id


def test_the_referral_and_partner_events_are_named_as_agreed() -> None:
    def defined(cls: type) -> set[str]:
        return {name for name, value in vars(cls).items()
                if isinstance(value, type) and issubclass(value, cls.Event)  # type: ignore[attr-defined]
                and name not in ("Event", "Created")}

    assert defined(Referral) == {"ConsentRecorded", "ReferralSent", "ReferralAnswered",
                                 "ConsentWithdrawn", "ReferralPackageExported"}
    assert defined(Partner) == {"PartnerRegistered", "PartnerContactChanged"}
