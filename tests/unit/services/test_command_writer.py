"""The command writer on an in-memory store: group commit, idempotency by command id,
optimistic concurrency, and isolation of a command that fails from the rest of its batch."""

from __future__ import annotations

import logging
from uuid import uuid4

import orjson
import pytest
from writer_fakes import (
    AddAmount,
    InMemoryRecorder,
    NothingToAdd,
    Store,
    extra_of,
    rule_of,
    submission,
)

from services.runtime.outcomes import Accepted, Rejected


def test_commands_handed_over_together_are_committed_in_one_batch() -> None:
    store = Store()
    tally_id = store.started_tally()
    batches_before = store.writer.batches

    outcomes = store.run(*(store.adding(tally_id, amount) for amount in (1, 2, 3, 4)))

    assert all(isinstance(o, Accepted) for o in outcomes)
    assert store.writer.batches - batches_before == 1
    assert store.stored_tally(tally_id).total == 10


def test_each_accepted_command_reports_the_version_and_position_of_its_own_events() -> None:
    store = Store()
    tally_id = store.started_tally()

    first, second = store.run(store.adding(tally_id, 1), store.adding(tally_id, 2))

    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert (first.version, second.version) == (2, 3)
    assert first.position is not None and second.position is not None
    assert first.position < second.position


def test_a_command_id_repeated_in_one_batch_is_carried_out_once() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    events_before = store.recorder.event_count()

    original, repeat = store.run(store.adding(tally_id, 5, command_id=command_id),
                                 store.adding(tally_id, 5, command_id=command_id))

    assert isinstance(original, Accepted) and isinstance(repeat, Accepted)
    assert (original.duplicate, repeat.duplicate) == (False, True)
    assert repeat.version == original.version
    assert store.recorder.event_count() - events_before == 1
    assert store.stored_tally(tally_id).total == 5


def test_a_command_id_reused_with_another_body_in_one_batch_is_refused() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()

    original, reuse = store.run(store.adding(tally_id, 5, command_id=command_id),
                                store.adding(tally_id, 7, command_id=command_id))

    assert isinstance(original, Accepted)
    assert rule_of(reuse) == "CommandIdReused"
    assert store.stored_tally(tally_id).total == 5


def test_a_known_command_id_is_answered_from_its_receipt_without_running_again() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    [original] = store.run(store.adding(tally_id, 5, command_id=command_id))
    runs, events = store.handlers.runs, store.recorder.event_count()

    [retry] = store.run(store.adding(tally_id, 5, command_id=command_id))

    assert isinstance(original, Accepted) and isinstance(retry, Accepted)
    assert retry.duplicate is True
    assert retry.model_dump(exclude={"duplicate"}) == original.model_dump(exclude={"duplicate"})
    assert store.handlers.runs == runs
    assert store.recorder.event_count() == events


def test_a_known_command_id_sent_with_another_body_is_refused_as_reused() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    store.run(store.adding(tally_id, 5, command_id=command_id))
    events = store.recorder.event_count()

    [reuse] = store.run(store.adding(tally_id, 6, command_id=command_id))

    assert isinstance(reuse, Rejected)
    assert (reuse.rule, reuse.http_status) == ("CommandIdReused", 422)
    assert store.recorder.event_count() == events


def test_a_known_command_id_sent_by_someone_else_is_refused_and_tells_them_nothing() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    store.run(store.adding(tally_id, 5, command_id=command_id))
    events = store.recorder.event_count()

    [other] = store.run(store.adding(tally_id, 5, command_id=command_id, actor="someone-else"))

    assert isinstance(other, Rejected)
    assert (other.rule, other.http_status) == ("CommandIdReused", 422)
    assert str(tally_id) not in other.model_dump_json()
    assert store.recorder.event_count() == events


def test_a_command_id_sent_by_two_senders_in_one_batch_runs_only_for_the_first() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()

    original, other = store.run(
        store.adding(tally_id, 5, command_id=command_id),
        store.adding(tally_id, 5, command_id=command_id, actor="someone-else"))

    assert isinstance(original, Accepted)
    assert rule_of(other) == "CommandIdReused"
    assert store.stored_tally(tally_id).total == 5


def test_a_receipt_stored_before_senders_were_kept_is_still_told_to_a_retry() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    store.run(store.adding(tally_id, 5, command_id=command_id))
    receipt = orjson.loads(store.recorder.receipts[command_id])
    del receipt["actor"]  # as written by the previous version
    store.recorder.receipts[command_id] = orjson.dumps(receipt)

    [retry] = store.run(store.adding(tally_id, 5, command_id=command_id))

    assert isinstance(retry, Accepted) and retry.duplicate is True
    assert store.stored_tally(tally_id).total == 5


def test_a_rejected_command_is_remembered_and_its_retry_gets_the_same_answer() -> None:
    store = Store()
    tally_id = store.started_tally()
    command_id = uuid4()
    [rejected] = store.run(store.adding(tally_id, 0, command_id=command_id))
    runs, events = store.handlers.runs, store.recorder.event_count()

    [retry] = store.run(store.adding(tally_id, 0, command_id=command_id))

    assert isinstance(rejected, Rejected) and isinstance(retry, Rejected)
    assert (retry.rule, retry.http_status, retry.duplicate) == ("NothingToAdd", 409, True)
    assert store.handlers.runs == runs
    assert store.recorder.event_count() == events


def test_a_broken_rule_rejects_only_its_own_command_and_keeps_the_batch_whole() -> None:
    store = Store()
    tally_id = store.started_tally()
    batches_before = store.writer.batches

    outcomes = store.run(store.adding(tally_id, 5), store.adding(tally_id, 0),
                         store.adding(tally_id, 7))

    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Rejected", "Accepted"]
    assert store.writer.batches - batches_before == 1
    assert store.stored_tally(tally_id).total == 12


def test_a_bug_in_one_handler_fails_only_that_command() -> None:
    store = Store()
    tally_id = store.started_tally()
    crash = submission(store.handlers.crash, AddAmount(tally_id=tally_id, amount=1))

    first, crashed, last = store.run(store.adding(tally_id, 5), crash,
                                     store.adding(tally_id, 7))

    assert isinstance(first, Accepted) and isinstance(last, Accepted)
    assert isinstance(crashed, ZeroDivisionError)
    assert store.stored_tally(tally_id).total == 12


def test_a_rule_broken_after_an_event_was_triggered_stores_nothing_of_that_command() -> None:
    store = Store()
    tally_id = store.started_tally()
    wavering = submission(store.handlers.add_then_break_a_rule,
                          AddAmount(tally_id=tally_id, amount=100))

    first, refused, last = store.run(store.adding(tally_id, 5), wavering,
                                     store.adding(tally_id, 7))

    assert isinstance(first, Accepted) and isinstance(last, Accepted)
    assert rule_of(refused) == NothingToAdd.__name__
    assert store.stored_tally(tally_id).total == 12
    assert store.event_names(tally_id).count("AmountAdded") == 2


def test_a_matching_expected_version_is_accepted() -> None:
    store = Store()
    tally_id = store.started_tally()

    [accepted] = store.run(store.adding(tally_id, 5, expected_version=1))

    assert isinstance(accepted, Accepted)
    assert accepted.version == 2


def test_an_expected_version_mismatch_is_refused_naming_the_current_version() -> None:
    store = Store()
    tally_id = store.started_tally()
    store.run(store.adding(tally_id, 5))
    events = store.recorder.event_count()

    [refused] = store.run(store.adding(tally_id, 7, expected_version=1))

    assert rule_of(refused) == "VersionConflict"
    assert extra_of(refused) == {"current_version": 2}
    assert store.recorder.event_count() == events
    assert store.stored_tally(tally_id).total == 5


def test_an_expected_version_mismatch_is_no_error_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    tally_id = store.started_tally()

    with caplog.at_level(logging.INFO, logger="corridor.writer"):
        [refused] = store.run(store.adding(tally_id, 7, expected_version=5))

    assert rule_of(refused) == "VersionConflict"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("expected another version" in r.getMessage() for r in caplog.records)


def test_a_rule_broken_after_events_were_triggered_is_logged_as_an_error(
        caplog: pytest.LogCaptureFixture) -> None:
    store = Store()
    tally_id = store.started_tally()

    with caplog.at_level(logging.INFO, logger="corridor.writer"):
        [refused] = store.run(submission(store.handlers.add_then_break_a_rule,
                                         AddAmount(tally_id=tally_id, amount=1)))

    assert rule_of(refused) == "NothingToAdd"
    assert "ERROR" in [r.levelname for r in caplog.records]
    assert store.stored_tally(tally_id).total == 0


def test_an_expected_version_mismatch_in_a_batch_refuses_only_that_command() -> None:
    store = Store()
    tally_id = store.started_tally()

    first, refused, last = store.run(store.adding(tally_id, 5),
                                     store.adding(tally_id, 7, expected_version=1),
                                     store.adding(tally_id, 11))

    assert isinstance(first, Accepted) and isinstance(last, Accepted)
    assert rule_of(refused) == "VersionConflict"
    assert store.stored_tally(tally_id).total == 16


def test_a_command_that_lost_a_race_to_another_writer_is_redone_on_the_stored_state() -> None:
    shared = InMemoryRecorder()
    here, elsewhere = Store(shared), Store(shared)
    tally_id = here.started_tally()
    here.app.repository.get(tally_id)  # cached here at version 1
    elsewhere.run(elsewhere.adding(tally_id, 5))  # now at version 2, unknown to `here`

    [late] = here.run(here.adding(tally_id, 7))

    assert isinstance(late, Accepted) and not late.duplicate
    assert late.version == 3
    assert here.stored_tally(tally_id).total == 12


def test_a_command_that_lost_a_race_with_an_expected_version_is_refused() -> None:
    shared = InMemoryRecorder()
    here, elsewhere = Store(shared), Store(shared)
    tally_id = here.started_tally()
    here.app.repository.get(tally_id)  # cached here at version 1
    elsewhere.run(elsewhere.adding(tally_id, 5))

    [late] = here.run(here.adding(tally_id, 7, expected_version=1))

    assert rule_of(late) == "VersionConflict"
    assert here.stored_tally(tally_id).total == 5


def test_a_batch_that_lost_a_race_is_redone_command_by_command_and_loses_no_update() -> None:
    shared = InMemoryRecorder()
    here, elsewhere = Store(shared), Store(shared)
    stale, other = here.started_tally(), here.started_tally()
    elsewhere.run(elsewhere.adding(stale, 5))

    outcomes = here.run(here.adding(stale, 7), here.adding(other, 11))

    assert all(isinstance(o, Accepted) for o in outcomes)
    assert here.stored_tally(stale).total == 12
    assert here.stored_tally(other).total == 11


def test_a_command_id_known_only_to_the_store_is_answered_from_its_receipt() -> None:
    # Another writer process (or this one before a restart) handled it: nothing in this
    # writer's memory says so; the store's receipt does, and nothing is stored twice.
    first = Store()
    tally_id = first.started_tally()
    command_id = uuid4()
    [original] = first.run(first.adding(tally_id, 5, command_id=command_id))
    second = Store(first.recorder)
    events = second.recorder.event_count()

    retry, added = second.run(second.adding(tally_id, 5, command_id=command_id),
                              second.adding(tally_id, 1))

    assert isinstance(original, Accepted) and isinstance(retry, Accepted)
    assert isinstance(added, Accepted) and not added.duplicate
    assert retry.duplicate is True
    assert retry.model_dump(exclude={"duplicate"}) == original.model_dump(exclude={"duplicate"})
    assert second.recorder.event_count() == events + 1
    assert second.stored_tally(tally_id).total == 6


def test_a_command_id_known_only_to_the_store_with_another_body_is_refused() -> None:
    first = Store()
    tally_id = first.started_tally()
    command_id = uuid4()
    first.run(first.adding(tally_id, 5, command_id=command_id))
    second = Store(first.recorder)

    [reuse] = second.run(second.adding(tally_id, 9, command_id=command_id))

    assert rule_of(reuse) == "CommandIdReused"
    assert second.stored_tally(tally_id).total == 5
