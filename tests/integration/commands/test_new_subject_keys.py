"""A new person's data key is stored in the same transaction as the first data it seals (no
look-up of its own); a person who had a key after all, or whose data was erased, is caught by
the store and the batch is redone, so no one's data is sealed with a key nobody keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from command_runtime import command, paused, postgres_settings, send, sqlite_settings
from eventsourcing.persistence import OperationalError, PersistenceError

from services.bootstrap import Runtime, build_runtime
from services.runtime.outcomes import Accepted, Outcome, Rejected
from services.runtime.writer import Submission
from services.settings import Settings

NAME = "Olena Kovalenko"


def opening(runtime: Runtime, person_id: UUID, case_id: UUID | None = None) -> Submission:
    return command(runtime, "cases.open", case_id=case_id or uuid4(), person_id=person_id,
                   intake={"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
                           "contact_channel": "telegram", "name": NAME})


def revealed_name(runtime: Runtime, case_id: UUID) -> str | None:
    """The case's personal data as a runtime with nothing cached reads it from the store."""
    case = runtime.app.readers.get(case_id)
    fields = runtime.app.sealer.reveal(case.personal)
    return None if fields is None else fields.get("name")


def amid_good_openings(runtime: Runtime, odd: Submission
                       ) -> tuple[Outcome, list[Outcome], list[UUID]]:
    """Run `odd` second in one batch of four case openings: (its outcome, the others'
    outcomes, the others' people)."""
    others = [uuid4() for _ in range(3)]
    queued = [opening(runtime, others[0]), odd, *(opening(runtime, p) for p in others[1:])]
    futures = [runtime.writer.submit(s) for s in queued]

    runtime.writer.start()

    outcomes: list[Outcome] = [f.result(timeout=30) for f in futures]
    return outcomes.pop(1), outcomes, others


class NewSubjectKeysContract:
    """Subclasses provide `settings`."""

    @pytest.fixture
    def runtime(self, settings: Settings) -> Iterator[Runtime]:
        with paused(settings) as runtime:
            yield runtime

    @pytest.fixture
    def fresh(self, settings: Settings) -> Iterator[Runtime]:
        """Another process on the same store, with no key cached."""
        other = build_runtime(settings)
        try:
            yield other
        finally:
            other.close()

    def test_new_people_keys_are_stored_with_the_batch_that_seals_their_data(
            self, runtime: Runtime, fresh: Runtime) -> None:
        people = [uuid4() for _ in range(5)]
        queued = [opening(runtime, p) for p in people]
        futures = [runtime.writer.submit(s) for s in queued]

        runtime.writer.start()

        outcomes = [f.result(timeout=30) for f in futures]
        assert all(isinstance(o, Accepted) for o in outcomes)
        assert runtime.writer.batches == 1 and runtime.writer.conflicts == 0
        for outcome in outcomes:
            assert revealed_name(fresh, outcome.stream_id) == NAME  # type: ignore[union-attr]

    def test_a_person_whose_key_another_process_made_is_sealed_with_that_key(
            self, runtime: Runtime, fresh: Runtime) -> None:
        person = uuid4()
        first = send(fresh, opening(fresh, person))
        assert isinstance(first, Accepted)

        runtime.writer.start()
        second = send(runtime, opening(runtime, person))

        assert isinstance(second, Accepted)
        assert runtime.writer.conflicts == 1  # its own new key was refused, then looked up
        assert revealed_name(fresh, second.stream_id) == NAME  # fresh keeps only its key
        assert revealed_name(runtime, first.stream_id) == NAME

    def test_a_reader_meanwhile_sees_a_known_persons_data_not_the_unstored_new_key(
            self, runtime: Runtime, fresh: Runtime) -> None:
        person, first_case = uuid4(), uuid4()
        assert isinstance(send(fresh, opening(fresh, person, first_case)), Accepted)
        app, seen = runtime.app, []
        real_insert = app.recorder.insert_events

        def insert_events(stored: object, **kwargs: object) -> object:  # a GET meanwhile
            if kwargs.get("new_keys"):
                seen.append(revealed_name(runtime, first_case))
            return real_insert(stored, **kwargs)

        app.recorder.insert_events = insert_events  # type: ignore[method-assign]
        runtime.writer.start()
        second = send(runtime, opening(runtime, person))

        assert isinstance(second, Accepted) and runtime.writer.conflicts == 1
        assert seen == [NAME]  # the stored key, not the one this batch made and lost with
        assert revealed_name(runtime, second.stream_id) == NAME

    def test_an_erased_person_gets_no_new_data_and_the_rest_of_the_batch_is_stored(
            self, runtime: Runtime, fresh: Runtime) -> None:
        person, case_id = uuid4(), uuid4()
        assert isinstance(send(fresh, opening(fresh, person, case_id)), Accepted)
        erased = send(fresh, command(fresh, "cases.erase_personal_data", case_id=case_id))
        assert isinstance(erased, Accepted)
        refused, outcomes, _ = amid_good_openings(runtime, opening(runtime, person))
        assert isinstance(refused, Rejected)
        assert (refused.http_status, refused.rule) == (409, "SubjectErased")
        assert refused.extra == {"subject_id": str(person)}
        assert all(isinstance(o, Accepted) for o in outcomes)
        for outcome in outcomes:
            assert revealed_name(fresh, outcome.stream_id) == NAME  # type: ignore[union-attr]
        assert fresh.app.keys.key_for(person, create=False) is None
        assert runtime.app.keys.key_for(person, create=False) is None


    def test_an_erasure_deletes_the_key_in_the_transaction_that_stores_it(
            self, runtime: Runtime, fresh: Runtime) -> None:
        person, case_id = uuid4(), uuid4()
        runtime.writer.start()
        assert isinstance(send(runtime, opening(runtime, person, case_id)), Accepted)
        app, real_insert = runtime.app, runtime.app.recorder.insert_events
        failing = [True]

        def insert_events(stored: object, **kwargs: object) -> object:
            if kwargs.get("erased_keys") and failing:
                failing.clear()
                raise OperationalError("the store went away")
            return real_insert(stored, **kwargs)

        app.recorder.insert_events = insert_events  # type: ignore[method-assign]
        erasure = command(runtime, "cases.erase_personal_data", case_id=case_id)
        with pytest.raises(PersistenceError):
            send(runtime, erasure)

        assert revealed_name(fresh, case_id) == NAME  # neither the erasure nor the deletion
        retried = send(runtime, command(runtime, "cases.erase_personal_data",
                                        command_id=erasure.command_id, case_id=case_id))
        assert isinstance(retried, Accepted) and not retried.duplicate
        assert runtime.app.keys.key_for(person, create=False) is None  # both, at once
        assert runtime.app.keys.key_for(person, create=True) is None  # and no new key


    def test_an_accepted_erasure_needs_no_step_after_the_commit(self, runtime: Runtime) -> None:
        person, case_id = uuid4(), uuid4()
        runtime.writer.start()
        assert isinstance(send(runtime, opening(runtime, person, case_id)), Accepted)

        def unreachable(subject_id: UUID) -> bool:
            raise OperationalError("a separate key deletion failed after the commit")

        runtime.app.keys.erase = unreachable  # type: ignore[method-assign]
        erased = send(runtime, command(runtime, "cases.erase_personal_data", case_id=case_id))

        assert isinstance(erased, Accepted)
        assert runtime.app.keys.key_for(person, create=False) is None


    def test_a_case_opened_under_an_existing_id_is_refused_and_keeps_no_key_for_its_person(
            self, runtime: Runtime, fresh: Runtime) -> None:
        case_id, newcomer = uuid4(), uuid4()
        assert isinstance(send(fresh, opening(fresh, uuid4(), case_id)), Accepted)
        refused, outcomes, others = amid_good_openings(runtime,
                                                       opening(runtime, newcomer, case_id))
        assert isinstance(refused, Rejected)
        assert (refused.http_status, refused.rule) == (409, "AlreadyExists")
        assert str(case_id) in refused.detail
        assert all(isinstance(o, Accepted) for o in outcomes)
        for person in others:
            assert fresh.app.keys.key_for(person, create=False) is not None
        assert fresh.app.keys.key_for(newcomer, create=False) is None  # no orphan key


    def test_a_volunteer_registered_under_a_case_persons_id_is_refused(
            self, runtime: Runtime, fresh: Runtime) -> None:
        person, case_id = uuid4(), uuid4()
        assert isinstance(send(fresh, opening(fresh, person, case_id)), Accepted)
        runtime.writer.start()

        refused = send(runtime, command(runtime, "volunteers.register", volunteer_id=person,
                                        display_name="Taras", contact="+380 00 000 0000"))

        assert isinstance(refused, Rejected)
        assert (refused.http_status, refused.rule) == (409, "AlreadyExists")
        assert str(person) in refused.detail
        assert not runtime.app.recorder.select_events(person, limit=1)
        assert revealed_name(fresh, case_id) == NAME  # the person's key is untouched

    def test_a_case_whose_person_id_is_a_volunteer_is_refused_the_rest_stored(
            self, runtime: Runtime, fresh: Runtime) -> None:
        volunteer = uuid4()
        assert isinstance(send(fresh, command(fresh, "volunteers.register",
                                              volunteer_id=volunteer, display_name="Taras",
                                              contact="+380 00 000 0000")), Accepted)

        refused, outcomes, _ = amid_good_openings(runtime, opening(runtime, volunteer))

        assert isinstance(refused, Rejected)
        assert (refused.http_status, refused.rule) == (409, "AlreadyExists")
        assert str(volunteer) in refused.detail
        assert all(isinstance(o, Accepted) for o in outcomes)
        assert fresh.app.readers.get(volunteer).version == 1  # the volunteer as registered

    def test_a_new_volunteers_key_is_stored_with_the_registration(
            self, runtime: Runtime, fresh: Runtime) -> None:
        volunteer = uuid4()
        runtime.writer.start()

        registered = send(runtime, command(runtime, "volunteers.register",
                                           volunteer_id=volunteer, display_name="Taras"))

        assert isinstance(registered, Accepted) and runtime.writer.conflicts == 0
        assert fresh.app.keys.key_for(volunteer, create=False) is not None


class TestNewSubjectKeysOnSQLite(NewSubjectKeysContract):
    @pytest.fixture
    def settings(self, tmp_path: Path) -> Settings:
        return sqlite_settings(tmp_path)


@pytest.mark.postgres
class TestNewSubjectKeysOnPostgres(NewSubjectKeysContract):
    @pytest.fixture
    def settings(self, fresh_pg_database: str) -> Settings:
        return postgres_settings(fresh_pg_database)
