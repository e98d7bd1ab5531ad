"""A loopback TCP proxy in front of the test PostgreSQL server that can be cut (every open
connection reset, new ones refused) and restored, or slowed (each chunk forwarded after an
added delay): a database outage or a slow database without touching the server other tests
share. Used by the fault suite (tests/faults) and the projection worker's outage test."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class OutageProxy:
    """Forwards 127.0.0.1:<port> to the server of `dsn` while up."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        self._dsn_parts = parts
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.delay_seconds = 0.0  # added before forwarding each chunk, both ways

    @property
    def dsn(self) -> str:
        """The DSN through this proxy."""
        parts = self._dsn_parts
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else \
            f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    async def up(self) -> None:
        """Accept connections (on the same port as before, once it has one)."""
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Reset every connection through the proxy and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _forward(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update({writer, upstream_writer})
        await asyncio.gather(_pipe(reader, upstream_writer, self),
                             _pipe(upstream_reader, writer, self))
        self._open.difference_update({writer, upstream_writer})


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                proxy: OutageProxy) -> None:
    with contextlib.suppress(OSError):
        while data := await source.read(65536):
            if proxy.delay_seconds:
                await asyncio.sleep(proxy.delay_seconds)
            sink.write(data)
            await sink.drain()
    sink.close()
