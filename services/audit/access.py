"""Need-to-know: who may see a stream's personal data (a current grant in its access log),
and the command that records each view, so every look at a history is itself history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from pydantic import Field

from domain.access import AccessLog, access_log_id
from domain.base import CoordinationError, PersonalData
from services.audit.render import Disclosure
from services.commands.common import ShortText
from services.commands.registry import CommandBody
from services.runtime.outcomes import Outcome, Rejected
from services.storage.application import CorridorApplication

View = Literal["history", "as_of", "diff", "resources", "export"]


class RecordAccess(CommandBody):
    """Record that the caller viewed a stream's history (and whose personal data they saw)."""

    stream_id: UUID
    view: View
    purpose: ShortText
    subject_ids: list[UUID] = Field(default_factory=list, max_length=10_000)


class AccessNotRecorded(CoordinationError):
    """The view could not be recorded, so nothing is shown (every view must be on record)."""

    http_status = 503


class NeedToKnow:
    """Decides, per viewer and stream, whether personal data is shown or redacted."""

    def __init__(self, app: CorridorApplication) -> None:
        self.app = app

    def access_log(self, stream_id: UUID) -> AccessLog | None:
        """The stream's access log as stored now: the cached copy brought up to date, since
        another process may have granted or revoked access a moment ago."""
        log_id = access_log_id(stream_id)
        try:
            log: Any = self.app.readers.get(log_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(log, AccessLog):
            return None
        for domain_event in self.app.events.get(log_id, gt=log.version):
            log = domain_event.mutate(log)  # type: ignore[attr-defined]
        return log  # type: ignore[no-any-return]

    def disclosure(self, viewer: str, stream_id: UUID, at: datetime) -> Disclosure:
        """Personal data is shown only to a viewer holding a current grant on the stream."""
        log = self.access_log(stream_id)
        permitted = log is not None and log.may_see_personal_data(viewer, at)
        return Disclosure(permitted, self.app.sealer.revealer(), self.is_erased,
                          owner=LegacyOwner(self.app, stream_id))

    def is_erased(self, subject_id: UUID) -> bool:
        """True once the subject's key is gone (checked without revealing anything)."""
        return self.app.keys.key_for(subject_id, create=False) is None


class LegacyOwner:
    """Names whose legacy plaintext an old event of a stream carries (PersonalData.legacy:
    the upcast knew only the stream): the person of a case. Looked up once, when met."""

    def __init__(self, app: CorridorApplication, stream_id: UUID) -> None:
        self.app, self.stream_id = app, stream_id
        self._subject: UUID | None = None

    def __call__(self, data: PersonalData) -> PersonalData:
        if data.subject_id != self.stream_id:
            return data
        if self._subject is None:
            first = next(iter(self.app.events.get(self.stream_id, limit=1)), None)
            self._subject = getattr(first, "person_id", None) or self.stream_id
        return data.belonging_to(self._subject)


def access_record(stream_id: UUID, view: View, purpose: str,
                  *disclosures: Disclosure) -> RecordAccess:
    """The command recording one view, naming every subject whose data it revealed."""
    revealed = sorted({s for d in disclosures for s in d.revealed}, key=str)
    return RecordAccess(command_id=uuid4(), stream_id=stream_id, view=view,
                        purpose=purpose, subject_ids=revealed)


def ensure_recorded(outcome: Outcome) -> None:
    """Fail closed: a view that is not on record is not shown."""
    if isinstance(outcome, Rejected):
        error = AccessNotRecorded(f"the view was not recorded: {outcome.detail}")
        error.http_status = outcome.http_status if outcome.http_status < 500 else 503
        raise error
