"""The story engine: stories resumed with their answers, sleepers woken in time order, rounds
answered in the order they were asked."""

from __future__ import annotations

from services.simulate.commands import ADMIN, Command
from services.simulate.engine import Answer, Engine, Send, Story, sleep

REGISTER = Command("setup", "/volunteers/register", {"command_id": "1"}, "admin", ("admin",))


def asking(log: list[str], name: str, times: int = 1, pause: int = 0) -> Story:
    for _ in range(times):
        answer = yield Send(REGISTER)
        log.append(f"{name} got {answer.status if answer else None}")
        if pause:
            yield from sleep(pause)


def test_a_story_is_resumed_with_the_answer_to_its_request() -> None:
    engine, log = Engine(), []
    engine.spawn("a", asking(log, "a"))

    [request] = engine.round()
    engine.answer(request, Answer(409, {"rule": "CaseClosed"}))
    engine.round()

    assert log == ["a got 409"]
    assert engine.processes == 0


def test_sleepers_wake_in_time_order_and_not_before_their_minute() -> None:
    engine, log = Engine(), []

    def napping(name: str, minutes: int) -> Story:
        yield from sleep(minutes)
        log.append(f"{name} at {engine.now}")

    engine.spawn("late", napping("late", 30))
    engine.spawn("early", napping("early", 10))
    engine.round()
    engine.advance(9)
    engine.round()
    assert log == []

    engine.advance(40)
    engine.round()

    assert log == ["early at 40", "late at 40"]


def test_a_woken_sleeper_runs_now_and_not_again_at_its_old_minute() -> None:
    engine, log = Engine(), []
    processes = []

    def napping() -> Story:
        processes.append(engine.current)
        yield from sleep(60)
        log.append(engine.now)
        yield from sleep(600)

    engine.spawn("nap", napping())
    engine.round()
    engine.advance(5)
    engine.wake(processes[0])
    engine.round()
    engine.advance(60)
    engine.round()

    assert log == [5]
    assert engine.next_wake() == 605


def test_a_round_hands_out_requests_in_spawn_order_and_takes_answers_back_in_order() -> None:
    engine, log = Engine(), []
    for name in ("first", "second", "third"):
        engine.spawn(name, asking(log, name, times=2))

    requests = engine.round()
    for request, status in zip(requests, (200, 409, 422), strict=True):
        engine.answer(request, Answer(status))
    again = engine.round()

    assert log == ["first got 200", "second got 409", "third got 422"]
    assert [r.process.name for r in again] == ["first", "second", "third"]


def test_a_command_names_its_catalog_command_and_stream() -> None:
    command = Command("take", "/cases/arrange-transport",
                      {"command_id": "c", "case_id": "00000000-0000-4000-8000-000000000001"},
                      ADMIN.id, ADMIN.roles)

    assert command.name == "cases.arrange_transport"
    assert str(command.stream_id) == "00000000-0000-4000-8000-000000000001"
