"""Referrals as the case, the partner and the auditor see them: partner organisations, and
each referral's consent (what may be shared, until when, withdrawn or not), status and how
many packages were handed out. Nothing personal: the consent's statement, the withdrawal's
reason and the partner's contact stay sealed in the event store."""

from __future__ import annotations

from typing import Any

from projections.changes import Change, Increment, Upsert
from projections.records import EventRecord
from projections.schema import ID, INT, TEXT, TIME, Column, Table
from projections.values import id_of, stamp, stream_key, time_of

PARTNERS = Table("partners", (
    Column("partner_id", ID), Column("name", TEXT), Column("kind", TEXT),
    Column("contact_channel", TEXT), Column("registered_at", TIME),
    Column("last_event_at", TIME), Column("version", INT), Column("position", INT),
), key=("partner_id",))

REFERRALS = Table("referrals", (
    Column("referral_id", ID), Column("case_id", ID), Column("partner_id", ID),
    Column("status", TEXT), Column("scope", TEXT, ""), Column("consent_until", TIME),
    Column("consented_at", TIME), Column("sent_at", TIME), Column("answered_at", TIME),
    Column("answered_by", TEXT), Column("withdrawn_at", TIME), Column("exports", INT, 0),
    Column("last_event_at", TIME), Column("version", INT), Column("position", INT),
), key=("referral_id",), indexes=(("case_id",), ("partner_id",)))

TABLES = (PARTNERS, REFERRALS)


def _referral(record: EventRecord) -> dict[str, Any] | None:
    d, kind = record.data, record.type
    if kind == "ConsentRecorded":
        return {"case_id": id_of(d.get("case_id")), "partner_id": id_of(d.get("partner_id")),
                "status": "consented", "scope": ",".join(d.get("scope") or ()),
                "consent_until": time_of(d.get("until")), "consented_at": record.occurred_at}
    if kind == "ReferralSent":
        return {"status": "sent", "sent_at": record.occurred_at}
    if kind == "ReferralAnswered":
        return {"status": d.get("answer"), "answered_at": record.occurred_at,
                "answered_by": d.get("answered_by")}
    if kind == "ConsentWithdrawn":
        return {"withdrawn_at": record.occurred_at}
    if kind == "ReferralPackageExported":
        return {}
    return None


def _partner(record: EventRecord) -> dict[str, Any] | None:
    d = record.data
    if record.type == "PartnerRegistered":
        return {"name": d.get("name"), "kind": d.get("kind"),
                "contact_channel": d.get("contact_channel"),
                "registered_at": record.occurred_at}
    if record.type == "PartnerContactChanged":
        return {"contact_channel": d.get("contact_channel")}
    return None


def project(record: EventRecord) -> list[Change]:
    """Referral and partner changes for one event."""
    if record.stream_type == "referral":
        values = _referral(record)
        if values is None:
            return []
        key = {"referral_id": stream_key(record)}
        changes: list[Change] = [Upsert("referrals", key, {**values, **stamp(record)})]
        if record.type == "ReferralPackageExported":
            changes.append(Increment("referrals", key, "exports", 1))
        return changes
    if record.stream_type == "partner":
        values = _partner(record)
        if values is None:
            return []
        return [Upsert("partners", {"partner_id": stream_key(record)},
                       {**values, **stamp(record)})]
    return []
