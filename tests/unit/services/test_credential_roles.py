"""The roles a caller's credential names reach the command's handler, whichever way the
command came (HTTP or Kafka through `Runtime.submission`, an HTTP worker through the writer
socket): rules on what one person may do to another read them (issue 20, item 2)."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from typing import Any
from uuid import UUID, uuid4

from writer_fakes import AddAmount, Store, submission

from domain.base import Meta
from domain.roles import Role
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime
from services.commands.common import authority
from services.runtime.ipc import WriterServer
from services.runtime.unit_of_work import UnitOfWork
from services.runtime.writer import Submission


class CapturingRuntime:
    """Builds submissions like the real runtime and keeps them instead of running them."""

    def __init__(self) -> None:
        self.submitted: list[Submission] = []
        self.writer = self

    def submission(self, name: str, body: Any, principal: Principal) -> Submission:
        return Runtime.submission(self, name, body, principal)  # type: ignore[arg-type]

    def submit(self, s: Submission) -> Future[Any]:
        self.submitted.append(s)
        return Future()


def register_body() -> str:
    return (f'{{"command_id": "{uuid4()}", "volunteer_id": "{uuid4()}", '
            '"display_name": "Taras", "roles": ["admin"]}')


def test_a_submission_carries_the_roles_of_the_callers_credential() -> None:
    import services.commands.catalog  # noqa: F401  (registers the commands)
    from services.commands.volunteers import RegisterVolunteer

    body = RegisterVolunteer.model_validate_json(register_body())
    principal = Principal(actor="lead", roles=frozenset({CallerRole.SUPERVISOR}))

    made = CapturingRuntime().submission("volunteers.register", body, principal)

    assert made.credential_roles == {"supervisor"}


def test_the_writer_process_hears_the_roles_an_http_worker_sends() -> None:
    import services.commands.catalog  # noqa: F401

    runtime = CapturingRuntime()
    WriterServer(runtime).answer_for(  # type: ignore[arg-type]
        {"id": 1, "name": "volunteers.register", "body": register_body(), "actor": "lead",
         "roles": ["supervisor"]})

    [sent] = runtime.submitted
    assert (sent.meta.actor, sent.credential_roles) == ("lead", {"supervisor"})


def test_a_frame_without_roles_gives_the_caller_none() -> None:
    import services.commands.catalog  # noqa: F401

    runtime = CapturingRuntime()
    WriterServer(runtime).answer_for(  # type: ignore[arg-type]
        {"id": 2, "name": "volunteers.register", "body": register_body(), "actor": "lead"})

    assert runtime.submitted[0].credential_roles == frozenset()


def test_each_command_of_a_batch_is_run_with_its_own_callers_roles() -> None:
    store = Store()
    tally_id = store.started_tally()
    seen: list[frozenset[str] | None] = []

    def add(body: AddAmount, uow: UnitOfWork, meta: Meta) -> UUID:
        seen.append(uow.credential_roles)
        return store.handlers.add(body, uow, meta)

    body = AddAmount(tally_id=tally_id, amount=1)
    store.run(*(dataclasses.replace(submission(add, body), credential_roles=roles)
                for roles in (frozenset({"admin"}), frozenset({"volunteer"}), None)))

    assert seen == [{"admin"}, {"volunteer"}, None]


def test_a_credential_naming_no_volunteer_acts_with_the_network_roles_it_names() -> None:
    uow = UnitOfWork(Store().app)  # type: ignore[arg-type]
    meta = Meta(actor="intake-and-lead", at=None, command_id=uuid4(),  # type: ignore[arg-type]
                correlation_id=uuid4())

    uow.credential_roles = frozenset({"intake", "supervisor"})
    assert authority(uow, meta).roles == {Role.SUPERVISOR}
    uow.credential_roles = None  # the service's own tools: no credential narrows them
    assert authority(uow, meta).roles == frozenset(Role)
