"""Commands from HTTP worker processes to the one writer process, over a local socket.

Why: one Python process tops out near one core (the GIL), and HTTP parsing, credentials,
validation and responses take a large share of it. `corridor serve --workers N` runs N HTTP
processes and one writer process (aggregates, group commit, the relay, anchoring); the
supervisor that forks them keeps the read models and runs the reactions. The writer stays
single, so its aggregate cache stays true and group commit batches the commands of all
workers together; HTTP work spreads over the cores.

Frames on a Unix socket: a 4-byte big-endian length, then one orjson object.
  request  {"id": n, "name": command, "body": JSON text, "actor": caller,
            "roles": [the caller's credential roles]}  (or {"id": n, "ping": 1})
  answer   {"id": n, "outcome": {...}} or {"id": n, "error": kind, "detail": text}
The HTTP worker has checked the credential and the roles; the writer trusts its socket,
which only the service's own user can open (mode 0600 in a private directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any, cast

import orjson
from eventsourcing.persistence import OperationalError, PersistenceError
from pydantic import TypeAdapter, ValidationError

from domain.base import CoordinationError, InvalidCommand
from services.auth import CallerRole, Principal
from services.commands import CommandBody
from services.commands.registry import spec_of
from services.runtime.outcomes import Accepted, Outcome, Rejected
from services.runtime.writer import CommandNotAnswered, WriterBusy
from services.storage.failures import StoreFull, store_full

log = logging.getLogger("corridor.ipc")

HEADER = struct.Struct(">I")
MAX_FRAME = 8 * 1024 * 1024
"""Far above any command (bodies are bounded by their models); a longer frame is an error."""


class WriterUnavailable(CoordinationError):
    """The writer process could not be reached or went away before answering."""

    http_status = 503


class FrameError(ValueError):
    """The peer sent something that is not a frame of this protocol."""


def frame(message: dict[str, Any]) -> bytes:
    data = orjson.dumps(message)
    return HEADER.pack(len(data)) + data


class FrameReader:
    """Splits a byte stream into messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """The messages complete after `data`. Each is parsed where it lies in the buffer
        and the parsed ones are cut off once at the end: a read holding many frames (the
        commands of many requests, a batch's answers) costs no copy per frame."""
        if self._buffer:
            self._buffer += data
            buffer: bytes | bytearray = self._buffer
        else:
            buffer = data  # the usual case: nothing left over from the last read
        messages: list[dict[str, Any]] = []
        start = 0
        try:
            with memoryview(buffer) as view:
                while len(buffer) - start >= HEADER.size:
                    (size,) = HEADER.unpack_from(buffer, start)
                    if size > MAX_FRAME:
                        raise FrameError(f"frame of {size} bytes exceeds {MAX_FRAME}")
                    end = start + HEADER.size + size
                    if len(buffer) < end:
                        break
                    with view[start + HEADER.size:end] as part:
                        try:
                            message = orjson.loads(part)
                        except orjson.JSONDecodeError as error:
                            raise FrameError(f"frame is not JSON: {error}") from None
                    start = end
                    if not isinstance(message, dict) or not isinstance(message.get("id"),
                                                                       int):
                        raise FrameError("frame is not an object with an integer id")
                    messages.append(message)
        finally:
            self._keep(buffer, start)
        return messages

    def _keep(self, buffer: bytes | bytearray, parsed: int) -> None:
        """Keep what follows the parsed frames for the next read."""
        if buffer is self._buffer:
            del self._buffer[:parsed]
        elif parsed < len(buffer):
            self._buffer = bytearray(buffer[parsed:])


class _FramedConnection(asyncio.Protocol):
    """One end of the socket: frames in through `reader`; frames out queued by `_queue`
    and written together at the end of the loop round (a batch's answers, or the commands
    of many HTTP requests, would otherwise cost a system call each on both sides)."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self._outbox: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def _queue(self, message: dict[str, Any]) -> None:
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(frame(message))

    def _flush(self) -> None:
        data, self._outbox = b"".join(self._outbox), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


# --- the writer process's side --------------------------------------------------------------


class WriterServer:
    """Takes framed commands from HTTP workers and hands them to the local command writer."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self._server: asyncio.AbstractServer | None = None

    async def start(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _WriterConnection(self), path)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def answer_for(self, message: dict[str, Any]) -> dict[str, Any] | Future[Outcome]:
        """An immediate answer (ping, bad request) or the writer's future outcome."""
        if message.get("ping"):
            return {"id": message["id"], "pong": 1}
        if "follow_up" in message:
            return self._follow_up(message)
        try:
            name, body, actor = message["name"], message["body"], message["actor"]
            spec = spec_of(name)
            payload = spec.body.model_validate_json(body)
            roles = frozenset(CallerRole(r) for r in message.get("roles", ()))
            submission = self.runtime.submission(name, payload,
                                                 Principal(actor=actor, roles=roles))
        except KeyError as error:
            return _error(message, "invalid", f"unknown command or missing field {error}")
        except ValidationError as error:
            return _error(message, "invalid", f"body does not fit the command: {error}")
        except ValueError as error:
            return _error(message, "invalid", f"unknown credential role: {error}")
        future: Future[Outcome] = self.runtime.writer.submit(submission)
        return future

    def _follow_up(self, message: dict[str, Any]) -> dict[str, Any] | Future[Outcome]:
        """A policy's follow-up from the reactions process, with its own metadata."""
        from services.runtime.reactions import FOLLOW_UPS, submission_for

        kind = FOLLOW_UPS.get(message["follow_up"])
        if kind is None:
            return _error(message, "invalid", f"unknown follow-up {message['follow_up']!r}")
        try:
            command = _adapter(kind).validate_json(message.get("body", ""))
        except ValidationError as error:
            return _error(message, "invalid", f"follow-up does not fit: {error}")
        future: Future[Outcome] = self.runtime.writer.submit(submission_for(command))
        return future


class _WriterConnection(_FramedConnection):
    def __init__(self, server: WriterServer) -> None:
        super().__init__()
        self.server = server
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.reader.feed(data)
        except FrameError as error:
            log.error("closing a connection that broke the protocol: %s", error)
            if self.transport is not None:
                self.transport.close()
            return
        for message in messages:
            answer = self.server.answer_for(message)
            if isinstance(answer, dict):
                self._queue(answer)
            else:
                answer.add_done_callback(self._settle_later(message["id"]))

    def _settle_later(self, request_id: int) -> Callable[[Future[Outcome]], None]:
        """A done-callback that answers on the event loop (at once when the writer runs
        on the loop's own thread, see `CommandWriter.run_on`)."""
        def done(future: Future[Outcome]) -> None:
            if threading.get_ident() == self._loop_thread:
                self._settled(request_id, future)
            else:
                self.loop.call_soon_threadsafe(self._settled, request_id, future)
        return done

    def _settled(self, request_id: int, done: Future[Outcome]) -> None:
        if done.cancelled():
            self._queue({"id": request_id, "error": "failed", "detail": "cancelled"})
            return
        error = done.exception()
        if error is None:  # the outcome's JSON as pydantic-core writes it, put into the frame
            self._queue({"id": request_id,  # as it is (no dict of it is built first)
                         "outcome": orjson.Fragment(done.result().model_dump_json())})
        elif store_full(error):
            self._queue({"id": request_id, "error": "full", "detail": type(error).__name__})
        elif isinstance(error, PersistenceError):
            self._queue({"id": request_id, "error": "store", "detail": type(error).__name__})
        elif isinstance(error, WriterBusy):
            self._queue({"id": request_id, "error": "busy", "detail": str(error)})
        else:
            self._queue({"id": request_id, "error": "failed",
                         "detail": f"{type(error).__name__}: {error}"})



def _error(message: dict[str, Any], kind: str, detail: str) -> dict[str, Any]:
    return {"id": message["id"], "error": kind, "detail": detail}


# --- the reactions process's side ---------------------------------------------------------


class RemoteFollowUps:
    """Carries out follow-ups in the writer process (blocking: the reactions run on their
    own thread). One short connection per round: follow-ups are rare."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path, self.timeout = path, timeout

    def carry_out(self, commands: Sequence[Any]) -> list[Outcome]:
        frames = [frame({"id": n, "follow_up": type(c).__name__,
                         "body": _adapter(type(c)).dump_json(c).decode()})
                  for n, c in enumerate(commands)]
        answers: dict[int, dict[str, Any]] = {}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(b"".join(frames))
            reader = FrameReader()
            while len(answers) < len(commands):
                data = sock.recv(65536)
                if not data:
                    raise WriterUnavailable("the writer process closed the connection")
                answers.update((m["id"], m) for m in reader.feed(data))
        return [_outcome(answers[n], type(c).__name__) for n, c in enumerate(commands)]


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    """One adapter per follow-up class: building one compiles a schema (milliseconds)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def _outcome(answer: dict[str, Any], name: str) -> Outcome:
    outcome = answer.get("outcome")
    if outcome is not None:
        if outcome.get("status") == "accepted":
            return Accepted.model_validate(outcome)
        return Rejected.model_validate(outcome)
    kind, detail = answer.get("error"), answer.get("detail", "")
    if kind == "store":  # the writer could not reach the store: a 503 store_unavailable
        unreachable = detail in ("OperationalError", "InterfaceError")
        raise (OperationalError if unreachable else PersistenceError)(detail)
    if kind == "full":  # the store's disk is full: a 503 store_full
        raise StoreFull(detail)
    if kind == "busy":
        raise WriterBusy(detail)
    if kind == "invalid":
        raise InvalidCommand(detail)
    raise RuntimeError(f"the writer failed on {name}: {detail}")


# --- the HTTP worker's side --------------------------------------------------------------


class RemoteCommands:
    """Sends commands to the writer process and awaits their outcomes (one shared
    connection; answers are matched by id, so many commands are in flight at once)."""

    def __init__(self, path: str, max_in_flight: int | None = None) -> None:
        self.path = path
        self.max_in_flight = max_in_flight
        """Commands awaiting the writer process beyond this are refused at once (WriterBusy,
        a 503): a writer process that is stuck on a store that is down answers nothing, and
        requests would otherwise pile up for their timeouts."""
        self._ids = itertools.count(1)
        self._connection: _ClientConnection | None = None
        self._connecting: asyncio.Lock | None = None

    async def _open(self) -> _ClientConnection:
        connection = self._connection
        if connection is not None and connection.open:
            return connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._connection is None or not self._connection.open:
                loop = asyncio.get_running_loop()
                try:
                    _, protocol = await loop.create_unix_connection(_ClientConnection, self.path)
                except OSError as error:
                    raise WriterUnavailable(
                        f"the writer process does not answer at {self.path} ({error}); "
                        "nothing was stored. Retry with the same command id.") from None
                self._connection = protocol
            return self._connection

    async def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The writer's answer to `message`; TimeoutError after `timeout` seconds. The
        answer is awaited with a timer of the loop's own rather than asyncio.wait_for, which
        wraps every request in a second future and its callbacks."""
        connection = await self._open()
        message["id"] = request_id = next(self._ids)
        answer = connection.expect(request_id)
        connection.send(message)
        timer = asyncio.get_running_loop().call_later(timeout, _expire, answer)
        try:
            return await answer
        finally:
            timer.cancel()
            connection.pending.pop(request_id, None)

    async def send(self, name: str, body: CommandBody | None, actor: str,
                   timeout: float = 30.0, *, roles: Iterable[str] = (),
                   body_json: bytes | None = None) -> Outcome:
        """Send a command on behalf of `actor`, whose credential names `roles` (the writer
        needs them for rules on what one person may do to another). CommandNotAnswered
        after `timeout`; WriterBusy at once when too many are in flight. `body_json`: the
        body's JSON text, sent as it is instead of serialising `body` (which may then be
        None); the writer validates it, and InvalidCommand says it does not fit."""
        connection = self._connection
        waiting = len(connection.pending) if connection is not None else 0
        if self.max_in_flight is not None and waiting >= self.max_in_flight:
            raise WriterBusy(f"{waiting} commands are waiting for the writer process, the "
                             "bound (CORRIDOR_COMMAND_QUEUE_MAX); nothing was sent. Retry "
                             "with the same command id after Retry-After.")
        try:
            if body_json is not None:
                text = body_json.decode()
            elif body is not None:
                text = body.model_dump_json()
            else:
                raise ValueError("a command needs its body or the JSON text of it")
            answer = await self.request({"name": name, "body": text,
                                         "actor": actor, "roles": sorted(roles)}, timeout)
        except TimeoutError:
            raise CommandNotAnswered(timeout) from None
        return _outcome(answer, name)

    async def ping(self, timeout: float = 3.0) -> bool:
        try:
            answer = await self.request({"ping": 1}, timeout)
        except (WriterUnavailable, TimeoutError):
            return False
        return bool(answer.get("pong"))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _expire(answer: asyncio.Future[dict[str, Any]]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())


class _ClientConnection(_FramedConnection):
    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def expect(self, request_id: int) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        return future

    def send(self, message: dict[str, Any]) -> None:
        if self.transport is None or self.transport.is_closing():
            raise WriterUnavailable("the connection to the writer process is closed; "
                                    "retry with the same command id")
        self._queue(message)

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.reader.feed(data)
        except FrameError as error:
            log.error("the writer process broke the protocol: %s", error)
            self.close()
            return
        for message in messages:
            future = self.pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WriterUnavailable(
                    "the writer process went away before answering; the command may have "
                    "been stored: retry with the same command id to learn its outcome"))

    def close(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.close()
