"""The benchmark's command mix is a simulated network's day (services.simulate): set up
before timing, handed out one command per story at a time, in the order journeys go, with
refusals passed back to the story that made them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.mix import ClientState, Command, Workload, World

CASE_START = {"open"}
AFTER_CLOSING = {"follow_up", "reopen", "erase", "audit_grant"}


def answered_all(workload: Workload, client: ClientState, count: int) -> list[Command]:
    commands = []
    for _ in range(count):
        command = workload.next_command(client)
        workload.acknowledged(client, command)
        commands.append(command)
    return commands


def test_the_world_is_set_up_in_phases_each_relying_only_on_earlier_ones() -> None:
    register, second, verify = World.new(clients=8, seed=1).setup_phases()

    registered = {c.body["volunteer_id"] for c in register}
    reported = {c.body["resource_id"]: c.actor for c in second if c.path == "/resources/report"}
    assert all(c.actor == "admin" for c in register)
    assert {c.body["volunteer_id"] for c in second if "volunteer_id" in c.body} <= registered
    assert set(reported.values()) <= registered
    assert {c.body["resource_id"] for c in verify} == set(reported)
    assert all(c.actor in registered and c.actor != reported[c.body["resource_id"]]
               for c in verify)


def test_no_two_clients_hold_a_command_on_the_same_case_at_once() -> None:
    workload = Workload(World.new(clients=16, seed=2))
    clients = [workload.client(i) for i in range(16)]

    for _ in range(300):
        held = [(c, workload.next_command(c)) for c in clients]
        cases = [command.body["case_id"] for _, command in held
                 if "case_id" in command.body]
        assert len(cases) == len(set(cases))
        for client, command in reversed(held):
            workload.acknowledged(client, command)


def test_a_case_is_opened_before_anything_else_and_closed_before_its_aftercare() -> None:
    workload = Workload(World.new(clients=1, seed=3))

    commands = answered_all(workload, workload.client(0), 6000)

    journeys: dict[str, list[str]] = {}
    for command in commands:
        if "case_id" in command.body:
            journeys.setdefault(command.body["case_id"], []).append(command.kind)
    assert len(journeys) > 100
    for kinds in journeys.values():
        assert kinds[0] in CASE_START
        if "close" in kinds and "reopen" not in kinds:
            assert set(kinds[kinds.index("close") + 1:]) <= AFTER_CLOSING


def test_the_mix_is_mostly_journeys_with_intake_and_resource_work_beside_them() -> None:
    workload = Workload(World.new(clients=1, seed=4))

    sent = Counter(c.kind for c in answered_all(workload, workload.client(0), 6000))

    journey = sum(sent[k] for k in ("advice", "transport", "departure", "checkpoint",
                                    "crossing", "stuck", "arrival", "follow_up", "note"))
    resources = sum(sent[k] for k in ("verify", "report", "occupancy", "mark_unsafe"))
    assert 0.05 < sent["open"] / 6000 < 0.2
    assert 0.05 < (sent["take"] + sent["assign"]) / 6000 < 0.2
    assert journey / 6000 > 0.4
    assert resources / 6000 > 0.02
    assert sent["close"] > 0 and sent["start_shift"] > 0


class OneAtATime:
    """One client answering every command 200 when it asks for the next, except the last
    one handed out (the test answers that one)."""

    def __init__(self, workload: Workload) -> None:
        self.workload, self.client = workload, workload.client(0)
        self.pending: Command | None = None

    def next(self) -> Command:
        command = self.workload.next_command(self.client)
        if self.pending is not None:
            self.workload.acknowledged(self.client, self.pending)
        self.pending = command
        return command

    def first(self, wanted: Any) -> Command:
        return next(c for c in iter(self.next, None) if wanted(c))


def test_a_refusal_naming_raised_flags_is_answered_by_clearing_them() -> None:
    workload = Workload(World.new(clients=1, seed=5))
    sender = OneAtATime(workload)
    closing = sender.first(lambda c: c.kind == "close" and c.body["outcome"] == "evacuated")
    sender.pending = None
    case_id, flag_id = closing.body["case_id"], "00000000-0000-4000-8000-00000000f1a9"
    problem = {"rule": "FlagsStillRaised", "flags": [{"flag_id": flag_id,
                                                      "reason": "resource_unsafe"}]}

    workload.refused(sender.client, closing, 409, problem)

    for_case = sender.first(lambda c: c.body.get("case_id") == case_id)
    assert for_case.kind == "clear_flag" and for_case.body["flag_id"] == flag_id
