"""A minimal HTTP/1.1 keep-alive client for the load generator.

The load generator shares two cores with the server, so a request must cost it next to
nothing: the request head is encoded once per (path, token), a request is one write, and a
response is read with one `readuntil` for the head and one `readexactly` for the body. It
speaks only what the API answers: status line, headers, Content-Length or chunked bodies.
"""

from __future__ import annotations

import asyncio
import contextlib

MAX_HEAD = 64 * 1024


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 this client understands."""


def post_prefix(host: str, port: int, path: str, token: str | None) -> bytes:
    """Everything of a POST request before the Content-Length value (reused per request)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}"
            "Content-Type: application/json\r\nContent-Length: ").encode("ascii")


def post_request(prefix: bytes, body: bytes) -> bytes:
    return b"%s%d\r\n\r\n%s" % (prefix, len(body), body)


def get_request(host: str, port: int, path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}\r\n".encode("ascii")


def parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, content length or None, chunked, server closes) from a response head."""
    lines = head.split(b"\r\n")
    status_line = lines[0]
    if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    status = int(status_line[9:12])
    length: int | None = None
    chunked = closes = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            closes = value.strip().lower() == b"close"
    return status, length, chunked, closes


class Connection:
    """One keep-alive connection; one request at a time (each simulated client owns one)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port,
                                                                   limit=MAX_HEAD)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send one complete request; return (status, body). Reconnects if the server closed."""
        if self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, length, chunked, closes = parse_head(head[:-4])
        if chunked:
            body = await self._read_chunked()
        elif length is not None:
            body = await self._reader.readexactly(length) if length else b""
        else:
            raise ProtocolError("response without Content-Length or chunked body")
        if closes:
            await self.close()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # no trailers from this server
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
