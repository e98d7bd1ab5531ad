"""uvicorn's HTTP/1.1 protocol (httptools), answering a request it cannot parse with a
problem document like every other error.

uvicorn answers such a request (a broken request line, a bad header, conflicting lengths)
before the application runs, in plain text; a client that reads every error as
application/problem+json then fails on exactly the answers that are hardest to debug. The
body comes from `problems.problem`, the one mapping of errors to answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from services.api.problems import PROBLEM, problem


class OneWritePerRound:
    """A transport that joins what is written to it in one round of the event loop into one
    write. uvicorn writes a response's head and its body separately, each a system call;
    an answer sent whole (every command's) then goes out in one. Closing writes what is
    pending first; everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose answer to an unparseable request is a 400 problem document,
    writing once per round of the event loop (see OneWritePerRound)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWritePerRound(transport))  # type: ignore[arg-type]

    def send_400_response(self, msg: str) -> None:
        body = bytes(problem(400, f"malformed HTTP request: {msg}",
                             rule="malformed_request").body)
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: ", PROBLEM.encode(), b"\r\n",
                        b"content-length: ", str(len(body)).encode(), b"\r\n",
                        b"connection: close\r\n\r\n", body])
        self.transport.write(b"".join(content))
        self.transport.close()
