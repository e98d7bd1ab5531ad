"""Need-to-know: who may see a case's personal data, and revealing it for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.base import PersonalData
from domain.case import Case
from services.auth import CallerRole, Principal
from services.storage.sealing import Sealer

REDACTED = "[redacted]"
ERASED = "[erased]"


def need_to_know(principal: Principal, case: Case, auditor_granted: bool) -> str | None:
    """The basis on which the caller may see the person's data, or None."""
    actor = principal.actor
    if case.assignee_id is not None and str(case.assignee_id) == actor:
        return "assignee"
    if principal.roles & {CallerRole.SUPERVISOR, CallerRole.ADMIN}:
        return "supervisor"
    group = {str(m) for m in case.support_member_ids}
    if case.psychologist_id is not None:
        group.add(str(case.psychologist_id))
    if actor in group:
        return "support_group"
    if CallerRole.AUDITOR in principal.roles and auditor_granted:
        return "granted_auditor"
    return None


def shown(data: PersonalData | None, sealer: Sealer, allowed: bool) -> Mapping[str, Any] | str:
    """The fields for someone entitled; a marker for everyone else or after erasure."""
    if data is None:
        return {}
    if data.erased:
        return ERASED
    if not allowed:
        return REDACTED
    revealed = sealer.reveal(data)
    return ERASED if revealed is None else dict(revealed)
