"""Building blocks shared by every aggregate: event metadata, personal data, errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Meta:
    """Who caused an event, when, and as part of which conversation.

    `at` is the business time the command carried (passed in, never read from a clock);
    `command_id` identifies the command (the causation of its events); `correlation_id`
    ties together everything that one original request set in motion.
    """

    actor: str
    at: datetime
    command_id: UUID
    correlation_id: UUID

    def caused_by_this(self, actor: str, command_id: UUID) -> Meta:
        """Metadata for a follow-up command issued by a policy reacting to this one."""
        return Meta(actor=actor, at=self.at, command_id=command_id,
                    correlation_id=self.correlation_id)


@dataclass(frozen=True)
class PersonalData:
    """Personal data about one data subject (a person in need, a volunteer).

    The domain only ever creates it with plaintext `fields`. The infrastructure seals it
    (encrypts it with the subject's own key) when storing; an instance read back from the
    store carries `sealed` bytes and no fields until someone entitled reveals it. Once the
    subject's key is erased, the fields can never be recovered.
    """

    subject_id: UUID
    fields: Mapping[str, Any] | None = None
    sealed: bytes | None = field(default=None, repr=False)
    erased: bool = False
    legacy: bool = False
    """Plaintext an old event stored before its fields were sealed, read back by an upcast.
    The upcast knows only the event's stream, so `subject_id` names the stream until the
    aggregate (`belonging_to`) or the reader says whose it is. It is shown only while that
    subject's key exists, and sealed like any other value wherever it is stored again."""

    @classmethod
    def of(cls, subject_id: UUID, **fields: Any) -> PersonalData:
        return cls(subject_id=subject_id, fields=dict(fields))

    @classmethod
    def erased_for(cls, subject_id: UUID) -> PersonalData:
        return cls(subject_id=subject_id, erased=True)

    @classmethod
    def from_legacy(cls, stream_id: UUID, **fields: Any) -> PersonalData:
        """Old plaintext fields of an event of `stream_id` (see `legacy`)."""
        return cls(subject_id=stream_id, fields=dict(fields), legacy=True)

    def belonging_to(self, subject_id: UUID) -> PersonalData:
        """This value with its subject named, if it is legacy plaintext (else unchanged)."""
        if not self.legacy or self.subject_id == subject_id:
            return self
        return replace(self, subject_id=subject_id)

    def __repr__(self) -> str:  # never print personal values into logs or tracebacks
        state = "erased" if self.erased else ("sealed" if self.fields is None else "plain")
        return f"PersonalData(subject_id={self.subject_id}, {state})"


class CoordinationError(Exception):
    """A command broke one of the network's rules. Subclasses name the rule."""

    http_status = 409

    @property
    def rule(self) -> str:
        return type(self).__name__


class NotFound(CoordinationError):
    """The command names something that does not exist."""

    http_status = 404


class InvalidCommand(CoordinationError):
    """The command's content contradicts itself or the domain's vocabulary."""

    http_status = 422
