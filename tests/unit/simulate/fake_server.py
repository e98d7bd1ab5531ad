"""A server that accepts every command and reads nothing: the simulator's stories alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.simulate.engine import Answer, Read, Send


class AcceptingServer:
    """Answers every command 200 (with a growing store position) and every read as empty;
    remembers what it was sent, in order."""

    def __init__(self, stamped: datetime | None = None, *, paths: tuple[str, ...] = ()) -> None:
        """`paths`: the command paths its OpenAPI document lists (none: only the core day)."""
        self.paths = paths
        self.sent: list[Send | Read] = []
        self.position = 0
        self.stamped = stamped or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    async def perform(self, step: Send | Read) -> Answer:
        self.sent.append(step)
        if isinstance(step, Read):
            return Answer(200, self._view(step.path))
        self.position += 1
        body = step.command.body
        return Answer(200, {"stream_id": str(step.command.stream_id or body["command_id"]),
                            "version": 1, "position": self.position})

    def _view(self, path: str) -> dict[str, Any]:
        if path == "/openapi.json":
            return {"paths": {f"/commands{p}": {} for p in self.paths}}
        if path.startswith("/resources/") and path.count("/") == 2:
            return {"reported_at": self.stamped.isoformat()}
        return {"cases": [], "verifications": []}
