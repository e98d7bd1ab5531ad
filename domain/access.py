"""Who looked at a stream's history, who may see its personal data, and anchors that witness
the store's hash chain: audit facts recorded as events like everything else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import CoordinationError, InvalidCommand, Meta
from domain.errors import NotPermitted
from domain.roles import Authority
from domain.volunteer import ensure_staff

AUDIT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:corridor:audit")
ANCHOR_LOG_ID = uuid5(AUDIT_NAMESPACE, "anchors")
DIGEST = re.compile(r"[0-9a-f]{64}")
GRANTED_AUDITOR = "granted_auditor"


def access_log_id(stream_id: UUID) -> UUID:
    """The id of the access log kept for one stream (a case, volunteer or resource)."""
    return uuid5(AUDIT_NAMESPACE, f"access:{stream_id}")


class CannotGrantToSelf(NotPermitted):
    """Nobody grants themselves access to personal data: a second person decides."""


class AccessNotGranted(NotPermitted):
    """The viewer holds no current grant to see this stream's personal data."""


class GrantNotHeld(CoordinationError):
    """There is no current grant to revoke for this auditor."""


class InvalidGrant(InvalidCommand):
    """A grant needs an auditor, a purpose and an end after its start."""


class AnchorOutOfSequence(CoordinationError):
    """Anchors cover the store without gaps or overlaps: each starts after the last one."""


class NothingToAnchor(CoordinationError):
    """No event was stored since the last anchor."""


class InvalidAnchor(InvalidCommand):
    """An anchor needs a non-empty range and a SHA-256 hex digest."""


class AccessLog(CoordinationAggregate):
    """One stream's access record: views of its history and grants to see personal data."""

    @classmethod
    def open_for(cls, *, stream_id: UUID, meta: Meta) -> AccessLog:
        """Start the access log of a stream (on its first view or grant)."""
        return cls(id=access_log_id(stream_id), stream_id=stream_id, meta=meta)

    @event("AccessLogOpened")
    def __init__(self, id: UUID, stream_id: UUID, meta: Meta) -> None:
        self.stream_id = stream_id
        self.grants: dict[str, dict[str, Any]] = {}
        self.views = 0
        self.personal_data_views = 0
        self.last_viewed_at: datetime | None = None
        self.last_viewed_by: str | None = None

    # --- queries ---------------------------------------------------------------------------

    def may_see_personal_data(self, viewer: str, at: datetime) -> bool:
        """True when the viewer holds a grant for this stream that is current at `at`."""
        grant = self.grants.get(viewer)
        if grant is None:
            return False
        until: datetime | None = grant["until"]
        return grant["granted_at"] <= at and (until is None or at < until)

    # --- commands --------------------------------------------------------------------------

    def grant(self, *, auditor: str, purpose: str, until: datetime | None, by: Authority,
              meta: Meta) -> None:
        """A supervisor or admin lets an auditor see this stream's personal data (for a
        purpose, maybe until a time)."""
        ensure_staff(by, "grant audit access to personal data")
        if not auditor.strip() or not purpose.strip():
            raise InvalidGrant("a grant names an auditor and a purpose")
        if auditor == by.actor:
            raise CannotGrantToSelf(f"{by.actor} cannot grant audit access to themselves")
        if until is not None and until <= meta.at:
            raise InvalidGrant("a grant must end after it starts")
        self._record_granted(auditor=auditor, stream_id=self.stream_id, granted_by=by.actor,
                             purpose=purpose, until=until, meta=meta)

    def revoke(self, *, auditor: str, reason: str, by: Authority, meta: Meta) -> None:
        """A supervisor or admin ends an auditor's current grant early."""
        ensure_staff(by, "revoke audit access")
        if not self.may_see_personal_data(auditor, meta.at):
            raise GrantNotHeld(f"{auditor} holds no current grant on {self.stream_id}")
        self._record_revoked(auditor=auditor, revoked_by=by.actor, reason=reason, meta=meta)

    def record_view(self, *, viewer: str, purpose: str, view: str,
                    subject_ids: Sequence[UUID], meta: Meta) -> None:
        """An auditor's view: whose personal data it showed (only under a grant), then the
        view itself."""
        if subject_ids:
            self.record_personal_data_view(viewer=viewer, purpose=purpose, view=view,
                                           subject_ids=subject_ids, meta=meta)
        self.record_history_view(viewer=viewer, purpose=purpose, view=view, meta=meta)

    def record_history_view(self, *, viewer: str, purpose: str, view: str, meta: Meta) -> None:
        """Someone read the stream's history (a replay, a state as of a moment, an export)."""
        self._record_history_viewed(viewer=viewer, purpose=purpose, view=view, meta=meta)

    def record_need_to_know_view(self, *, viewer: str, basis: str, purpose: str, view: str,
                                 subject_ids: Sequence[UUID], meta: Meta) -> None:
        """Someone was shown personal data of these subjects on a need-to-know basis
        ('assignee', 'supervisor', 'support_group', or 'granted_auditor', which needs a
        current grant in this log)."""
        if not basis.strip():
            raise InvalidCommand("a view of personal data names its need-to-know basis")
        if basis == GRANTED_AUDITOR and not self.may_see_personal_data(viewer, meta.at):
            raise AccessNotGranted(f"{viewer} may not see personal data on {self.stream_id}")
        self._record_personal_data_viewed(viewer=viewer, basis=basis, purpose=purpose,
                                          view=view, subject_ids=sorted(set(subject_ids),
                                                                        key=str), meta=meta)

    def record_personal_data_view(self, *, viewer: str, purpose: str, view: str,
                                  subject_ids: Sequence[UUID], meta: Meta) -> None:
        """An auditor was shown personal data of these subjects; only a current grant allows it."""
        self.record_need_to_know_view(viewer=viewer, basis=GRANTED_AUDITOR, purpose=purpose,
                                      view=view, subject_ids=subject_ids, meta=meta)

    # --- events ----------------------------------------------------------------------------

    @event("AuditAccessGranted")
    def _record_granted(self, auditor: str, stream_id: UUID, granted_by: str, purpose: str,
                        until: datetime | None, meta: Meta) -> None:
        self.grants[auditor] = {"granted_by": granted_by, "purpose": purpose,
                                "granted_at": meta.at, "until": until}

    @event("AuditAccessRevoked")
    def _record_revoked(self, auditor: str, revoked_by: str, reason: str, meta: Meta) -> None:
        self.grants.pop(auditor, None)

    @event("HistoryViewed")
    def _record_history_viewed(self, viewer: str, purpose: str, view: str, meta: Meta) -> None:
        self.views += 1
        self.last_viewed_at = meta.at
        self.last_viewed_by = viewer

    @event("PersonalDataViewed")
    def _record_personal_data_viewed(self, viewer: str, basis: str, purpose: str, view: str,
                                     subject_ids: list[UUID], meta: Meta) -> None:
        self.personal_data_views += 1


class AnchorLog(CoordinationAggregate):
    """Digests over the store's hash chain, one contiguous range of positions after another.

    A digest published outside the store (printed, sent to a chat channel) lets anyone later
    prove that no event in its range was changed, added or removed since.
    """

    @classmethod
    def start(cls, *, meta: Meta) -> AnchorLog:
        """Start the store's one anchor log."""
        return cls(id=ANCHOR_LOG_ID, meta=meta)

    @event("AnchorLogStarted")
    def __init__(self, id: UUID, meta: Meta) -> None:
        self.anchored_to = 0
        self.anchors = 0
        self.last_digest: str | None = None
        self.last_anchored_at: datetime | None = None

    @property
    def next_position(self) -> int:
        """The first store position the next anchor must cover."""
        return self.anchored_to + 1

    def anchor(self, *, from_position: int, to_position: int, digest: str, meta: Meta) -> None:
        """Record the digest of the chain hashes of positions from..to (inclusive)."""
        if from_position != self.next_position:
            raise AnchorOutOfSequence(f"the next anchor starts at position {self.next_position},"
                                      f" not {from_position}")
        if to_position < from_position:
            raise NothingToAnchor(f"nothing stored after position {self.anchored_to}")
        if not DIGEST.fullmatch(digest):
            raise InvalidAnchor("the digest must be 64 lowercase hex characters (SHA-256)")
        self._record_anchored(from_position=from_position, to_position=to_position,
                              digest=digest, meta=meta)

    @event("LogAnchored")
    def _record_anchored(self, from_position: int, to_position: int, digest: str,
                         meta: Meta) -> None:
        self.anchored_to = to_position
        self.anchors += 1
        self.last_digest = digest
        self.last_anchored_at = meta.at
