"""The simulated network's line to corridor: commands over HTTP (POST /commands/...), views
over HTTP (GET), each with a token of its actor, signed with the server's auth secret.

A command that meets a network error is sent again with the same command id: the server
answers a retry from the stored outcome, so nothing happens twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from services.auth import TokenIssuer
from services.simulate.commands import Actor, Command
from services.simulate.engine import Answer, Read, Send

RETRIES = 4
"""Attempts per request before the simulator gives up on it (and notes it unreached)."""


class HttpServer:
    """A corridor server at `base_url`, spoken to as each actor of the network."""

    def __init__(self, base_url: str, issuer: TokenIssuer, *, token_hours: float = 12.0,
                 timeout: float = 30.0, connections: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self.issuer = issuer
        self.token_ttl = timedelta(hours=token_hours)
        self._tokens: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
        self.client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout,
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))
        self.kafka: Any = None
        """A KafkaCommands sender for the commands it takes (see services.simulate.kafka)."""

    async def close(self) -> None:
        await self.client.aclose()
        if self.kafka is not None:
            await self.kafka.stop()

    def headers(self, actor: Actor | tuple[str, tuple[str, ...]]) -> dict[str, str]:
        key = (actor.id, actor.roles) if isinstance(actor, Actor) else actor
        found = self._tokens.get(key)
        if found is None:
            token = self.issuer.issue(key[0], list(key[1]), ttl=self.token_ttl)
            found = self._tokens[key] = {"Authorization": f"Bearer {token}"}
        return found

    async def perform(self, step: Send | Read) -> Answer:
        """Send a command or read a view; an Answer with status 0 if never reached."""
        if isinstance(step, Send):
            if self.kafka is not None and self.kafka.takes(step.command):
                answer: Answer = await self.kafka.send(step.command, self.headers(
                    (step.command.actor, step.command.roles))["Authorization"])
                return answer
            return await self.send(step.command)
        return await self._request("GET", step.path, headers=self.headers(step.actor),
                                   params=step.params)

    async def send(self, command: Command) -> Answer:
        return await self._request("POST", f"/commands{command.path}", json=command.body,
                                   headers=self.headers((command.actor, command.roles)))

    async def _request(self, method: str, path: str, **kwargs: Any) -> Answer:
        for attempt in range(RETRIES):
            try:
                reply = await self.client.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    return Answer(0)
                await asyncio.sleep(0.25 * 2 ** attempt)
                continue
            if reply.status_code in (502, 503, 504) and attempt < RETRIES - 1:
                await asyncio.sleep(0.25 * 2 ** attempt)
                continue
            return Answer(reply.status_code, _json(reply))
        return Answer(0)


def _json(reply: httpx.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None
