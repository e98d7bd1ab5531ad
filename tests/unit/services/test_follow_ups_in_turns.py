"""The policies' follow-ups reach the writer a turn at a time, in order, so a tick that finds
many cases gone silent does not queue them all ahead of the coordinators' commands."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

from domain.base import Meta
from domain.follow_ups import FollowUpCommand, MarkContactOverdue
from services.runtime.outcomes import Accepted, Outcome
from services.runtime.reactions import carry_out_in_turns

AT = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


class RecordingSender:
    """Answers every follow-up as accepted and remembers the turns it was handed."""

    def __init__(self) -> None:
        self.turns: list[list[FollowUpCommand]] = []

    def carry_out(self, commands: Sequence[FollowUpCommand]) -> list[Outcome]:
        self.turns.append(list(commands))
        return [Accepted(command_id=c.meta.command_id, stream_id=uuid4(), version=1,
                         events=[]) for c in commands]


def overdue() -> MarkContactOverdue:
    command_id = uuid4()
    return MarkContactOverdue(case_id=uuid4(), since=AT, due_at=AT, meta=Meta(
        actor="policy:contact_watch", at=AT, command_id=command_id,
        correlation_id=command_id))


def test_follow_ups_go_in_turns_in_order_and_every_one_is_answered() -> None:
    commands = [overdue() for _ in range(70)]
    sender = RecordingSender()

    outcomes = carry_out_in_turns(sender, commands, turn=32)  # not the default: any turn

    assert [len(t) for t in sender.turns] == [32, 32, 6]
    assert [c for t in sender.turns for c in t] == commands
    assert [o.command_id for o in outcomes] == [c.meta.command_id for c in commands]


def test_no_follow_ups_ask_nothing_of_the_writer() -> None:
    sender = RecordingSender()

    assert carry_out_in_turns(sender, []) == []
    assert sender.turns == []
