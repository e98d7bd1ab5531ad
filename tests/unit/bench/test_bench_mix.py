"""The command mix hands out only commands that are valid when sent."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

from bench.mix import Workload, World


def test_no_take_is_sent_before_any_case_is_acknowledged_open() -> None:
    workload = Workload(World.new(clients=1))
    client = workload.client(0)

    kinds = [workload.next_command(client).kind for _ in range(50)]

    assert set(kinds) <= {"open", "verify", "occupancy"}


def test_each_acknowledged_case_is_taken_by_one_client_only() -> None:
    workload = Workload(World.new(clients=2))
    first, second = workload.client(0), workload.client(1)
    opened = [workload.next_command(first) for _ in range(20)]
    for command in opened:
        workload.acknowledged(first, command)
    opened_cases = [c.body["case_id"] for c in opened if c.kind == "open"]

    takes = [c for c in (workload.next_command(second) for _ in range(200))
             if c.kind == "take"]

    taken_cases = [c.body["case_id"] for c in takes]
    assert sorted(taken_cases) == sorted(opened_cases)


def test_a_held_case_departs_before_any_checkpoint() -> None:
    workload = Workload(World.new(clients=1))
    client = workload.client(0)
    client.held[UUID(int=1)] = "waiting"

    steps = [c for c in (workload.next_command(client) for _ in range(100))
             if c.path.startswith("/cases/") and c.kind != "open"]

    assert steps and all(c.kind == "departure" for c in steps)


def test_the_mix_settles_near_its_weights() -> None:
    workload = Workload(World.new(clients=1), seed=3)
    client = workload.client(0)
    sent: Counter[str] = Counter()
    for _ in range(4000):
        command = workload.next_command(client)
        workload.acknowledged(client, command)
        sent[command.kind] += 1

    steps = sent["advice"] + sent["checkpoint"] + sent["departure"]
    assert 0.36 < sent["open"] / 4000 < 0.44
    assert 0.17 < sent["take"] / 4000 < 0.23
    assert 0.26 < steps / 4000 < 0.34
    assert 0.07 < (sent["verify"] + sent["occupancy"]) / 4000 < 0.13
