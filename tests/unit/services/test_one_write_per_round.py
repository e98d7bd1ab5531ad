"""The HTTP protocol's transport joins what one round of the event loop writes into one
write (a response's head and body), and writes what is pending before it closes."""

from __future__ import annotations

import asyncio

from services.api.framing import OneWritePerRound


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.events.append("write")

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_a_head_and_a_body_written_in_one_round_go_out_in_one_write() -> None:
    real = FakeTransport()
    transport = OneWritePerRound(real)  # type: ignore[arg-type]

    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []  # nothing before the round ends
    await asyncio.sleep(0)

    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_what_later_rounds_write_goes_out_in_later_writes() -> None:
    real = FakeTransport()
    transport = OneWritePerRound(real)  # type: ignore[arg-type]

    transport.write(b"data: 1\n\n")
    await asyncio.sleep(0)
    transport.write(b"data: 2\n\n")
    await asyncio.sleep(0)

    assert real.writes == [b"data: 1\n\n", b"data: 2\n\n"]


async def test_closing_writes_what_is_pending_first() -> None:
    real = FakeTransport()
    transport = OneWritePerRound(real)  # type: ignore[arg-type]

    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    await asyncio.sleep(0)

    assert real.events == ["write", "close"]
    assert real.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]


async def test_everything_else_is_the_wrapped_transports() -> None:
    transport = OneWritePerRound(FakeTransport())  # type: ignore[arg-type]
    assert transport.get_extra_info("peername") == "info:peername"
