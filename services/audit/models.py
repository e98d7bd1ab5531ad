"""What audit queries answer with: the same models for Python callers, HTTP and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

PersonalDataShown = Literal["shown", "redacted"]


class EventMeta(BaseModel):
    """Who caused an event, when (business time), and as part of which conversation."""

    actor: str
    at: datetime
    command_id: UUID
    correlation_id: UUID


class FieldChange(BaseModel):
    """One field that differs between two states ('a.b' for nested fields)."""

    path: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None
    added: list[Any] | None = Field(default=None, description="list items that appeared")
    removed: list[Any] | None = Field(default=None, description="list items that went away")


class HistoryEntry(BaseModel):
    """One event and the stream's state right after it."""

    version: int
    position: int | None = Field(description="the event's position in the whole store")
    recorded_at: datetime | None
    type: str
    meta: EventMeta | None
    data: dict[str, Any] = Field(description="the event's own fields (personal data "
                                             "redacted unless the viewer may see it)")
    changes: list[FieldChange]
    state: dict[str, Any]
    chain_hash: str | None = Field(description="the event's hash in its stream's chain (hex)")


class History(BaseModel):
    """A stream's history, event by event."""

    stream_id: UUID
    type: str
    version: int
    personal_data: PersonalDataShown
    entries: list[HistoryEntry]
    chain: ChainCheck = Field(description="whether the returned events match the stream's "
                                          "hash chain (each event's bytes and its link to "
                                          "the event before it)")


class StreamState(BaseModel):
    """A stream's state as of a version or a moment."""

    stream_id: UUID
    type: str | None
    exists: bool = Field(description="false when the stream did not exist yet at that moment")
    version: int
    requested_version: int | None = None
    requested_at: datetime | None = None
    recorded_at: datetime | None = None
    created_on: datetime | None = None
    modified_on: datetime | None = None
    personal_data: PersonalDataShown
    state: dict[str, Any] | None
    chain: ChainCheck = Field(description="whether the events the state is made of "
                                          "(versions 1 to `version`) match the stream's "
                                          "hash chain")


class EventSummary(BaseModel):
    """An event named without its content."""

    version: int
    type: str
    actor: str | None
    at: datetime | None


class StateDiff(BaseModel):
    """What changed in a stream between two moments, field by field, and which events did it."""

    stream_id: UUID
    type: str | None
    from_version: int
    to_version: int
    personal_data: PersonalDataShown
    changes: list[FieldChange]
    events: list[EventSummary]


class ResourceUse(BaseModel):
    """A resource an event relied on, as it stood when the event happened."""

    event_version: int
    event_type: str
    used_at: datetime
    resource_id: UUID
    resource_version: int | None = Field(description="the resource's version at that moment; "
                                                     "null when it was not reported yet")
    verification: dict[str, Any] = Field(description="verification and status fields then")
    usable: bool | None = Field(description="whether it could be handed out at that moment")
    unusable_reason: str | None
    state: dict[str, Any] | None


class ResourceReport(BaseModel):
    """Every resource a stream relied on, event by event."""

    stream_id: UUID
    uses: list[ResourceUse]


class ChainBreak(BaseModel):
    """Where the stored history stops matching its hash chain.

    `expected` is what the chain recorded when the event was stored; `found` is what the
    stored bytes hash to now (or, for a missing event, the version found instead).
    """

    kind: Literal["altered", "unchained", "missing", "orphaned"]
    stream_id: UUID
    version: int
    position: int | None
    expected: str | None
    found: str | None
    detail: str


class ChainCheck(BaseModel):
    """Whether some events of one stream still match its hash chain, and where not."""

    intact: bool = Field(description="false when any checked event was altered, lacks its "
                                     "chain row, or is missing")
    events_checked: int
    first_break: ChainBreak | None = Field(description="the earliest break: its event's "
                                                       "version and position, and why")
    breaks: list[ChainBreak]
    breaks_truncated: bool = False
    checked_earlier: int = Field(default=0, description="events before the checked ones "
                                 "that this server found intact within the last "
                                 "CHAIN_RECHECK_SECONDS and did not hash again for this "
                                 "answer (as-of answers only; `corridor audit verify` and "
                                 "histories check every event)")


class AnchorCheck(BaseModel):
    """One anchor compared with the digest recomputed from the stored events."""

    anchor_version: int
    from_position: int
    to_position: int
    recorded: str
    recomputed: str | None
    ok: bool


class SnapshotCheck(BaseModel):
    """A snapshot that does not match the state rebuilt from its stream's events."""

    stream_id: UUID
    version: int
    detail: str


class VerifyReport(BaseModel):
    """The outcome of recomputing the hash chain (and anchors, and snapshots)."""

    scope: Literal["stream", "store"]
    stream_id: UUID | None = None
    ok: bool
    events_checked: int
    streams_checked: int
    last_position: int | None
    first_break: ChainBreak | None
    breaks: list[ChainBreak]
    breaks_truncated: bool = False
    anchors: list[AnchorCheck]
    snapshots_checked: int
    snapshot_mismatches: list[SnapshotCheck]
