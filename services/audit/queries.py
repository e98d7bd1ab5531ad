"""The auditor's desk: every read answers with its result and the record of the view.

Callers (the HTTP API, the CLI) run the query, then send `record` through the writer and
only show the result once the view is on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from domain.base import InvalidCommand
from services.audit.access import NeedToKnow, RecordAccess, access_record
from services.audit.export import ExportFormat, ExportInfo, render
from services.audit.models import History, ResourceReport, StateDiff, StreamState
from services.audit.render import Disclosure
from services.audit.replay import Moment, Progress, Replay
from services.audit.verify import verify_stream
from services.clock import now
from services.storage.application import CorridorApplication

T = TypeVar("T")


@dataclass(frozen=True)
class Viewed(Generic[T]):
    """A query's answer and the command that records who saw it."""

    result: T
    record: RecordAccess


class AuditQueries:
    """Replay, as-of, diff, resources and export for one viewer, need-to-know applied."""

    def __init__(self, app: CorridorApplication) -> None:
        self.app = app
        self.replay = Replay(app)
        self.need_to_know = NeedToKnow(app)

    def history(self, stream_id: UUID, viewer: str, purpose: str, *, from_version: int = 1,
                to_version: int | None = None, progress: Progress | None = None,
                ) -> Viewed[History]:
        disclosure = self.need_to_know.disclosure(viewer, stream_id, now())
        result = self.replay.history(stream_id, disclosure, from_version=from_version,
                                     to_version=to_version, progress=progress)
        return Viewed(result, access_record(stream_id, "history", purpose, disclosure))

    def as_of(self, stream_id: UUID, viewer: str, purpose: str, *, version: int | None = None,
              at: datetime | None = None) -> Viewed[StreamState]:
        if (version is None) == (at is None):
            raise InvalidCommand("give exactly one of: a version, a time")
        disclosure = self.need_to_know.disclosure(viewer, stream_id, now())
        result = (self.replay.as_of_version(stream_id, version, disclosure)
                  if version is not None else
                  self.replay.as_of_time(stream_id, at, disclosure))  # type: ignore[arg-type]
        return Viewed(result, access_record(stream_id, "as_of", purpose, disclosure))

    def diff(self, stream_id: UUID, viewer: str, purpose: str, before: Moment,
             after: Moment) -> Viewed[StateDiff]:
        disclosure = self.need_to_know.disclosure(viewer, stream_id, now())
        result = self.replay.diff(stream_id, before, after, disclosure)
        return Viewed(result, access_record(stream_id, "diff", purpose, disclosure))

    def resources(self, stream_id: UUID, viewer: str, purpose: str) -> Viewed[ResourceReport]:
        """Resources the stream relied on, as they stood then. Their own personal data (a
        contact person) is never shown here: that needs a grant on the resource's history."""
        disclosure = self.need_to_know.disclosure(viewer, stream_id, now())
        withheld = Disclosure(False, self.app.sealer.reveal, self.need_to_know.is_erased)
        result = self.replay.resources_used(stream_id, lambda _: withheld)
        return Viewed(result, access_record(stream_id, "resources", purpose, disclosure))

    def export(self, stream_id: UUID, viewer: str, purpose: str, fmt: ExportFormat, *,
               progress: Progress | None = None) -> Viewed[bytes]:
        """The stream's history as a document, with the stream's chain checked at export."""
        viewed = self.history(stream_id, viewer, purpose, progress=progress)
        info = ExportInfo(exported_by=viewer, purpose=purpose, exported_at=now(),
                          chain=verify_stream(self.app, stream_id))
        record = viewed.record.model_copy(update={"view": "export"})
        return Viewed(render(viewed.result, info, fmt), record)
