"""Referrals as the case, the partner and the supervisors see them, and partners."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from projections.views.common import Reader, as_time, id_arg, split


class ReferralView(BaseModel):
    """One referral: to whom, under what consent (withdrawn or not), where it stands."""

    referral_id: UUID
    case_id: UUID | None = Field(description="the case referred; not shown to the partner, who "
                                             "knows the referral by its own id")
    partner_id: UUID
    status: str = Field(description="consented, sent, accepted, declined or completed")
    scope: list[str] = Field(description="what the consent lets the network share")
    consent_until: datetime | None
    consent_current: bool = Field(description="not withdrawn and not run out at `now`")
    consent_withdrawn_at: datetime | None
    consented_at: datetime | None
    sent_at: datetime | None
    answered_at: datetime | None
    exports: int = Field(description="packages handed out")


class PartnerView(BaseModel):
    """A partner organisation (its contact stays sealed)."""

    partner_id: UUID
    name: str
    kind: str
    contact_channel: str
    registered_at: datetime | None


def _referral(row: dict[str, Any], now: datetime) -> ReferralView:
    until, withdrawn = as_time(row["consent_until"]), as_time(row["withdrawn_at"])
    return ReferralView(
        referral_id=row["referral_id"], case_id=row["case_id"], partner_id=row["partner_id"],
        status=row["status"], scope=split(row["scope"]), consent_until=until,
        consent_current=withdrawn is None and until is not None and now < until,
        consent_withdrawn_at=withdrawn, consented_at=as_time(row["consented_at"]),
        sent_at=as_time(row["sent_at"]), answered_at=as_time(row["answered_at"]),
        exports=int(row["exports"] or 0))


async def referrals(reader: Reader, now: datetime, *, case_id: UUID | None = None,
                    partner_id: UUID | None = None, limit: int = 200, offset: int = 0,
                    fresh: bool = False) -> list[ReferralView]:
    """Referrals, newest consent first, of one case and/or to one partner."""
    table = await reader.table("referrals", "referrals", fresh=fresh)
    where, args = [], []
    for column, value in (("case_id", case_id), ("partner_id", partner_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(id_arg(value))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = await reader.fetch(f"SELECT * FROM {table}{clause} ORDER BY consented_at DESC, "
                              f"referral_id LIMIT {int(limit)} OFFSET {int(offset)}", args)
    return [_referral(r, now) for r in rows]


async def partners(reader: Reader, *, fresh: bool = False) -> list[PartnerView]:
    """Every registered partner, by name."""
    table = await reader.table("referrals", "partners", fresh=fresh)
    rows = await reader.fetch(f"SELECT * FROM {table} ORDER BY name, partner_id")
    return [PartnerView(partner_id=r["partner_id"], name=r["name"], kind=r["kind"],
                        contact_channel=r["contact_channel"],
                        registered_at=as_time(r["registered_at"])) for r in rows]
