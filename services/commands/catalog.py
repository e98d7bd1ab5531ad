"""Importing this module registers every command in CATALOG."""

from services.audit import access_commands as audit
from services.commands import (
    cases,
    clock,
    contact,
    duplicates,
    referrals,
    resources,
    seats,
    volunteers,
    windows,
)

__all__ = ["audit", "cases", "clock", "contact", "duplicates", "referrals", "resources",
           "seats", "volunteers", "windows"]
