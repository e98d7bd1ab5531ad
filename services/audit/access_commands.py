"""Audit commands, run by the writer like every other command (group-committed, chained):
granting and revoking access to personal data, recording views, anchoring the chain."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from domain.access import ANCHOR_LOG_ID, AccessLog, AnchorLog, NothingToAnchor, access_log_id
from domain.base import Meta, NotFound
from projections.views.common import Moment
from services.audit.access import RecordAccess
from services.audit.chain import anchor_digest
from services.audit.store import StoreReader
from services.auth import CallerRole as R
from services.commands.common import ShortText, Text, authority
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork

GRANTORS = {R.SUPERVISOR, R.ADMIN}
AUDITORS = {R.AUDITOR, R.ADMIN}
DEFAULT_ANCHOR_SPAN = 50_000


class GrantAuditAccess(CommandBody):
    stream_id: UUID = Field(description="the case (or volunteer, or resource) stream")
    auditor: ShortText = Field(description="the auditor's actor id (their token's subject)")
    purpose: Text
    until: Moment | None = Field(default=None, description="when the grant ends")


class RevokeAuditAccess(CommandBody):
    stream_id: UUID
    auditor: ShortText
    reason: Text


class AnchorChain(CommandBody):
    to_position: int | None = Field(default=None, ge=1, description="last position to cover "
                                    "(default: the newest stored event)")
    max_span: int = Field(default=DEFAULT_ANCHOR_SPAN, ge=1, le=1_000_000,
                          description="cover at most this many positions in one anchor")


def _access_log(uow: UnitOfWork, stream_id: UUID, meta: Meta) -> tuple[AccessLog, bool]:
    """The stream's access log, opened (but not yet added to the unit of work) if new."""
    found = uow.find(AccessLog, access_log_id(stream_id))
    if found is not None:
        return found, False
    return AccessLog.open_for(stream_id=stream_id, meta=meta), True


@command("audit.grant", "/audit/grant", GRANTORS)
def grant(body: GrantAuditAccess, uow: UnitOfWork, meta: Meta) -> UUID:
    """Let an auditor see one stream's personal data (a supervisor or admin decides)."""
    if not uow.exists(body.stream_id):
        raise NotFound(f"no stream with id {body.stream_id}")
    log, new = _access_log(uow, body.stream_id, meta)
    log.grant(auditor=body.auditor, purpose=body.purpose, until=body.until,
              by=authority(uow, meta), meta=meta)
    if new:
        uow.add(log)
    return log.id


@command("audit.revoke", "/audit/revoke", GRANTORS)
def revoke(body: RevokeAuditAccess, uow: UnitOfWork, meta: Meta) -> UUID:
    """End an auditor's access to one stream's personal data."""
    log = uow.find(AccessLog, access_log_id(body.stream_id))
    if log is None:
        raise NotFound(f"nobody was granted access to {body.stream_id}")
    log.revoke(auditor=body.auditor, reason=body.reason, by=authority(uow, meta), meta=meta)
    return log.id


@command("audit.record_view", "/audit/record-view", AUDITORS)
def record_view(body: RecordAccess, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record that the caller viewed a history (the audit API and CLI send this)."""
    if not uow.exists(body.stream_id):
        raise NotFound(f"no stream with id {body.stream_id}")
    log, new = _access_log(uow, body.stream_id, meta)
    log.record_view(viewer=meta.actor, purpose=body.purpose, view=body.view,
                    subject_ids=body.subject_ids, meta=meta)
    if new:
        uow.add(log)
    return log.id


@command("audit.anchor", "/audit/anchor", AUDITORS)
def anchor(body: AnchorChain, uow: UnitOfWork, meta: Meta) -> UUID:
    """Record a SHA-256 over the chain hashes of the positions stored since the last anchor."""
    log = uow.find(AnchorLog, ANCHOR_LOG_ID)
    start = log.next_position if log is not None else 1
    reader = StoreReader(uow.app)
    newest = reader.max_position()
    end = min(body.to_position or newest, newest, start + body.max_span - 1)
    if end < start or (log is not None and newest <= _last_anchor_position(reader, log)):
        # Only the last anchor's own event is new: a quiet store is not anchored again.
        raise NothingToAnchor(f"nothing stored after position {start - 1}")
    if log is None:
        log = AnchorLog.start(meta=meta)
        uow.add(log)
    digest = anchor_digest(start, end, reader.chain_range(start, end))
    log.anchor(from_position=start, to_position=end, digest=digest, meta=meta)
    return log.id


def _last_anchor_position(reader: StoreReader, log: AnchorLog) -> int:
    index = reader.stream_index(ANCHOR_LOG_ID, gt=log.version - 1)
    spot = index.get(log.version)
    return (spot.position or 0) if spot is not None else 0
