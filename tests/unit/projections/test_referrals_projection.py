"""The referrals read model: partners and each referral's consent and status, nothing
personal (pure, no database)."""

from __future__ import annotations

from uuid import uuid4

from projection_events import Stream, apply, only, personal

from projections.catalog import REFERRALS
from projections.partition import own_rows_only


def test_a_referral_row_follows_consent_sending_answers_exports_and_withdrawal() -> None:
    referral, partner, case = Stream("referral"), Stream("partner"), uuid4()
    person = uuid4()
    events = [
        partner.event("PartnerRegistered", name="Border Aid", kind="ngo",
                      contact_channel="email", contact=personal(partner.id),
                      registered_by="admin"),
        referral.event("ConsentRecorded", case_id=str(case), person_id=str(person),
                       partner_id=str(partner.id), scope=["contact", "needs"],
                       until="2024-03-08T08:00:00+00:00", personal=personal(person),
                       recorded_by=str(uuid4())),
        referral.event("ReferralSent", partner_id=str(partner.id), sent_by=str(uuid4())),
        referral.event("ReferralPackageExported", format="json", exported_by="partner:x",
                       scope=["contact", "needs"]),
        referral.event("ReferralAnswered", answer="accepted", answered_by="partner:x"),
        referral.event("ConsentWithdrawn", withdrawn_by=str(uuid4()), personal=personal(person)),
    ]
    for record in events:
        own_rows_only("referrals", REFERRALS.tables, record, REFERRALS.project(record))

    tables = apply(REFERRALS, events)

    row = only(tables.rows("referrals"))
    assert (row["status"], row["scope"], row["exports"]) == ("accepted", "contact,needs", 1)
    assert row["withdrawn_at"] == events[-1].occurred_at
    assert row["case_id"] == str(case)
    assert only(tables.rows("partners"))["name"] == "Border Aid"
    assert "sealed" not in str(tables.rows("referrals")) + str(tables.rows("partners"))
