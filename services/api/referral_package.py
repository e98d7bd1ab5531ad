"""A referral package: what the person's consent lets the network share with the partner,
as JSON and as a printable HTML page. Pure: the caller reveals the person's fields (after the
export is on record) and passes them in; nothing outside the consent's scope is read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from domain.case import Case
from domain.referral import ConsentScope, Referral

SHARED: dict[ConsentScope, tuple[tuple[str, str], ...]] = {
    ConsentScope.IDENTITY: (("name", "personal"),),
    ConsentScope.CONTACT: (("contact_channel", "case"), ("contact_handle", "personal")),
    ConsentScope.LOCATION: (("region", "case"), ("exact_location", "personal")),
    ConsentScope.HOUSEHOLD: (("adults", "case"), ("children_ages", "case"), ("pets", "case")),
    ConsentScope.NEEDS: (("mobility_needs", "case"), ("medical_needs", "case"),
                         ("needs_medicine", "case"), ("needs_food", "case"),
                         ("needs_clothes", "case")),
    ConsentScope.HEALTH: (("health_details", "personal"),),
    ConsentScope.JOURNEY: (("destination", "case"), ("languages", "case"),
                           ("urgency", "case"), ("stage", "case")),
}
"""What each scope shares: (field, where it comes from: the case's readable answers or the
person's sealed fields). Notes, follow-ups and the journal are never shared."""


def shared_fields(case: Case, personal: Mapping[str, Any], scope: list[str]
                  ) -> dict[str, dict[str, Any]]:
    """Per scope in the consent, its fields' values (nothing of a scope not consented to)."""
    shared: dict[str, dict[str, Any]] = {}
    for name in scope:
        fields = SHARED[ConsentScope(name)]
        shared[name] = {f: _value(case, personal, f, source) for f, source in fields}
    return shared


def _value(case: Case, personal: Mapping[str, Any], name: str, source: str) -> Any:
    if source == "personal":
        return personal.get(name, "")
    value = getattr(case, name)
    return value.value if hasattr(value, "value") else value


def package(*, case: Case, referral: Referral, partner_name: str,
            personal: Mapping[str, Any], exported_at: datetime) -> dict[str, Any]:
    """The package as JSON-safe data."""
    return {"referral_id": str(referral.id), "partner_id": str(referral.partner_id),
            "partner": partner_name, "exported_at": exported_at.isoformat(),
            "consent": {"scope": list(referral.scope), "until": referral.until.isoformat(),
                        "given_at": referral.consented_at.isoformat()},
            "shared": shared_fields(case, personal, referral.scope)}


def html(document: Mapping[str, Any]) -> str:
    """The package as a printable page, every value escaped."""
    sections = "\n".join(
        f"<h2>{escape(scope)}</h2>\n<table>\n" + "\n".join(
            f"<tr><th>{escape(name)}</th><td>{escape(_text(value))}</td></tr>"
            for name, value in fields.items()) + "\n</table>"
        for scope, fields in document["shared"].items())
    consent = document["consent"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Referral {escape(document["referral_id"])}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto}}
th{{text-align:left;padding-right:1em}}@media print{{body{{margin:0}}}}</style>
</head><body>
<h1>Referral to {escape(document["partner"])}</h1>
<p>Referral {escape(document["referral_id"])}, exported {escape(document["exported_at"])}.
Shared with the person's consent ({escape(", ".join(consent["scope"]))}), given
{escape(consent["given_at"])}, valid until {escape(consent["until"])}. Do not pass it on.</p>
{sections}
</body></html>
"""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
