"""The composition root: every process shape of corridor is built here, from the settings.

- `corridor serve`, one process (for_serve): the writer, the policies, the read models and
  their runner, the Kafka relay and command consumer*, anchoring.
- `corridor serve --writer-process`:
  - the writer process (for_writer_process): the writer on its event loop, its socket, the
    read models (opened first, so they exist before the others start), Kafka*, anchoring;
  - each HTTP worker (for_http_worker): the read models; commands go to the writer's socket;
  - the supervisor (for_background): the policies, their follow-ups sent to the writer's
    socket, and the store follower that keeps the read models current.
- `corridor command-consumer` (for_command_consumer): the writer, the policies, the Kafka
  command consumer.
- `corridor relay` (for_relay): the Kafka relay.
- `corridor project --from store|kafka` (for_projection_worker): the store follower, or a
  member of the Kafka projection consumer group.
- `corridor rebuild` (for_rebuild): the read models, the store's event table, the fill
  processes.
- `corridor audit ...` and tools (for_reading): the store and a writer run by the caller.

*only when CORRIDOR_KAFKA_BOOTSTRAP is set. Each part is built after what it needs and
passed in. Threads (the writer, the policies) start when built; the async parts start when
`Runtime.running()` is entered and stop, in reverse, when it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from domain.base import Meta
from domain.contact import intervals_from
from domain.vocabulary import Urgency
from projections.service import ProjectionService
from services.auth import Principal, TokenIssuer
from services.clock import now
from services.commands import CommandBody
from services.commands.registry import spec_of
from services.runtime.outcomes import Outcome
from services.runtime.reactions import LocalFollowUps, Reactions
from services.runtime.unit_of_work import NetworkDefaults
from services.runtime.writer import CommandNotAnswered, CommandWriter, Submission
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.readmodels import source_config, store_config
from services.storage.secrets import auth_secret, master_key, retired_master_keys

if TYPE_CHECKING:
    from projections.parallel import ProcessFill
    from projections.sources import PostgresEventSource, SQLiteEventSource
    from projections.store import ReadModelStore
    from services.kafka.command_consumer import CommandConsumer
    from services.kafka.relay import EventRelay
    from services.runtime.background_process import Background
    from services.runtime.ipc import RemoteCommands

Stop = Callable[[], Awaitable[None]]
Duty = Callable[["Runtime"], Awaitable[Stop]]
"""An async start that returns its async stop (anchoring is one)."""
Worker = Callable[[asyncio.Event], Awaitable[None]]
"""Runs until the event is set."""

ANCHOR_EVERY_SECONDS = 600.0
STARTUP_HOOKS: list[Duty] = []
"""Extra duties of every process that stores commands, started after the built-in ones."""


@dataclass
class KafkaParts:
    """The Kafka side of a process that stores commands: the relay (store -> events topic),
    the command consumer (commands topic -> writer) and the broker's readiness probe."""

    probe: Callable[[], Awaitable[bool]]
    relay: EventRelay | None = None
    command_consumer: CommandConsumer | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)

    async def start(self) -> Stop:
        """Run the relay and the command consumer as tasks of this event loop."""
        parts = [(self.relay, "corridor-relay"),
                 (self.command_consumer, "corridor-command-consumer")]
        self._tasks = [asyncio.create_task(part.run(self._stopping), name=name)
                       for part, name in parts if part is not None]
        return self.stop

    async def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=timeout)
        for task in late:  # a broker that is down can hold a flush; do not hold shutdown
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)


@dataclass
class Runtime:
    """One process's parts, built by a `for_...` function below and shared by its entry
    points (routes, the command consumer, the writer's socket, anchoring)."""

    settings: Settings
    app: CorridorApplication
    writer: CommandWriter
    tokens: TokenIssuer
    remote: RemoteCommands | None = None
    """In an HTTP worker of `serve --writer-process`: commands go to the writer process;
    this process's own writer is never started."""
    projections: ProjectionService | None = None
    """The read models this process serves (and keeps current, if its runner runs here)."""
    reactions: Reactions | None = None
    """The policies, when they run in this process (woken by the writer's commits)."""
    kafka: KafkaParts | None = None
    duties: tuple[Duty, ...] = ()

    def submission(self, name: str, body: CommandBody, principal: Principal) -> Submission:
        spec = spec_of(name)
        meta = Meta(actor=principal.actor, at=now(), command_id=body.command_id,
                    correlation_id=body.correlation_id or body.command_id)
        return Submission(command_id=body.command_id, name=name, payload=body, meta=meta,
                          handler=spec.handler, expected_version=body.expected_version,
                          subjects=body.new_subjects(),
                          credential_roles=frozenset(r.value for r in principal.roles))

    async def send(self, name: str, body: CommandBody, principal: Principal,
                   timeout: float | None = None) -> Outcome:
        """The command's outcome; CommandNotAnswered after `timeout` (by default
        CORRIDOR_COMMAND_WAIT_SECONDS), WriterBusy at once when the writer's queue is full."""
        wait = self.settings.command_wait_seconds if timeout is None else timeout
        if self.remote is not None:
            return await self.remote.send(name, body, principal.actor, wait,
                                          roles=principal.roles)
        future = self.writer.submit(self.submission(name, body, principal))
        try:  # shield: a caller's timeout must not cancel a command the writer may run
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), wait)
        except TimeoutError:
            raise CommandNotAnswered(wait) from None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Runtime]:
        """Start the async parts (read models, Kafka, duties); on exit stop them in reverse
        and close the runtime."""
        stops: list[Stop] = []
        try:
            if self.projections is not None:
                await self.projections.start()
                stops.append(self.projections.stop)
            if self.kafka is not None:
                stops.append(await self.kafka.start())
            for duty in self.duties:
                stops.append(await duty(self))
            yield self
        finally:
            for stop in reversed(stops):
                await stop()
            await asyncio.to_thread(self.close)

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
        if self.reactions is not None:
            self.reactions.stop()
        self.writer.stop()
        self.app.close()


# --- the process shapes ---------------------------------------------------------------


def for_api(settings: Settings) -> Runtime:
    """The FastAPI lifespan's runtime: an HTTP worker when CORRIDOR_WRITER_SOCKET names a
    writer process, else `corridor serve` in one process."""
    return for_http_worker(settings) if settings.writer_socket else for_serve(settings)


def for_serve(settings: Settings) -> Runtime:
    """`corridor serve` in one process: it executes commands, runs the policies and the
    projection runner (each unless configured to run elsewhere), the Kafka parts and
    anchoring."""
    return _storing(settings, react=settings.reactions_in_process, read_models=True,
                    project=settings.projections_in_process, duties=_storing_duties())


def for_writer_process(settings: Settings, loop: asyncio.AbstractEventLoop,
                       socket_path: str) -> Runtime:
    """The writer process of `serve --writer-process`: commands run on `loop`'s thread and
    are answered on `socket_path`; the Kafka parts and anchoring. It opens the read models
    (creating them on a new store) before the other processes start; the supervisor
    projects and runs the policies."""
    return _storing(settings, writer_loop=loop, react=False, read_models=True,
                    duties=(*_storing_duties(), _answering(socket_path)))


def for_http_worker(settings: Settings) -> Runtime:
    """An HTTP worker of `serve --writer-process`: it serves the read models (kept current
    by the supervisor) and sends its commands to the writer process."""
    from services.runtime.ipc import RemoteCommands

    if not settings.writer_socket:
        raise ValueError("an HTTP worker needs CORRIDOR_WRITER_SOCKET")
    app = application(settings)
    return Runtime(settings=settings, app=app, writer=CommandWriter(app), tokens=_tokens(settings),
                   remote=RemoteCommands(settings.writer_socket,
                                         max_in_flight=settings.command_queue_max),
                   projections=_read_models(settings, app, project=False))


def for_background(settings: Settings, socket_path: str) -> Background:
    """The supervisor of `serve --writer-process`, once it forked the others: the policies
    (their follow-ups go to the writer over `socket_path`) and the store follower that keeps
    the read models current, each unless configured to run elsewhere."""
    from services.runtime.background_process import Background
    from services.runtime.ipc import RemoteFollowUps

    settings = settings.model_copy(update={"create_tables": False})  # the writer made them
    reactions = None
    if settings.reactions_in_process:
        reactions = Reactions(application(settings), RemoteFollowUps(socket_path),
                              tick_seconds=settings.expiry_tick_seconds,
                              window_lead_minutes=settings.window_lead_minutes,
                              contact_intervals=_contact_intervals(settings))
        reactions.start()
    return Background(settings, reactions, project=settings.projections_in_process)


def for_command_consumer(settings: Settings) -> Runtime:
    """`corridor command-consumer`: executes the command topic's commands (and runs the
    policies unless configured to run elsewhere); no read models, and no relay (`corridor
    relay` runs apart)."""
    if not settings.uses_kafka:
        raise ValueError("the command consumer needs CORRIDOR_KAFKA_BOOTSTRAP")
    return _storing(settings, react=settings.reactions_in_process, relay=False)


def for_relay(settings: Settings, *, name: str = "events", batch_size: int = 500) -> EventRelay:
    """`corridor relay`: publishes the store to the events topic (close its `app` after)."""
    from services.kafka.relay import EventRelay

    return EventRelay(application(settings), settings, name=name, batch_size=batch_size)


def for_projection_worker(settings: Settings, *, from_kafka: bool,
                          group_id: str | None = None) -> Worker:
    """`corridor project --from store|kafka`: keeps the read models current, following the
    store (woken by its NOTIFY) or as a member of the projection consumer group."""
    from services.kafka.projection_worker import GROUP_ID, run_kafka_worker
    from services.runtime.store_follower import follow_store

    async def from_the_topic(stop: asyncio.Event) -> None:
        await run_kafka_worker(settings, stop=stop, group_id=group_id or GROUP_ID)

    async def from_the_store(stop: asyncio.Event) -> None:
        await follow_store(settings, stop=stop)

    return from_the_topic if from_kafka else from_the_store


@dataclass
class RebuildParts:
    """What `corridor rebuild` reads and writes (start the store first, close both after)."""

    store: ReadModelStore
    source: PostgresEventSource | SQLiteEventSource
    parallel: ProcessFill | None


def for_rebuild(settings: Settings, *, processes: int = 1) -> RebuildParts:
    """`corridor rebuild`: the read models, the store's event table read directly, and the
    processes that fill a share of the streams each (PostgreSQL only)."""
    from projections.parallel import ProcessFill

    stores, sources = store_config(settings), source_config(settings)
    parallel = (ProcessFill(stores, sources, processes)
                if processes > 1 and stores.dialect == "postgres" else None)
    return RebuildParts(stores.open(), sources.open(), parallel)


def for_reading(settings: Settings) -> Runtime:
    """`corridor audit ...` and tools: the store, and a writer that runs commands only when
    asked, on the caller's thread (`CommandWriter.execute_now`)."""
    return build_runtime(settings, start_writer=False)


def build_runtime(settings: Settings, *, start_writer: bool = True,
                  writer_loop: asyncio.AbstractEventLoop | None = None) -> Runtime:
    """A runtime that executes commands (and runs the policies, as configured), without
    read models, Kafka or duties: what tests and tools build on. With `start_writer`,
    commands run on the writer's own threads, or on `writer_loop`'s thread if given
    (`CommandWriter.run_on`)."""
    return _storing(settings, start_writer=start_writer, writer_loop=writer_loop,
                    react=start_writer and settings.reactions_in_process, kafka=False)


# --- the parts ------------------------------------------------------------------------


def _contact_intervals(settings: Settings) -> dict[Urgency, timedelta]:
    """CORRIDOR_CONTACT_INTERVAL_HOURS as the silence watch reads it."""
    return intervals_from({str(k): v for k, v in settings.contact_interval_hours.items()})


def application(settings: Settings) -> CorridorApplication:
    """The event store with its keys: every process opens it here."""
    import services.commands.catalog  # noqa: F401  (registers the commands)

    return CorridorApplication(settings, master_key(settings), retired_master_keys(settings))


def _storing(settings: Settings, *, react: bool, read_models: bool = False,
             project: bool = False, kafka: bool = True, relay: bool = True,
             start_writer: bool = True, writer_loop: asyncio.AbstractEventLoop | None = None,
             duties: tuple[Duty, ...] = ()) -> Runtime:
    """A runtime whose writer stores commands in this process. Its commits wake the
    policies (`react`) and the projection runner (`project`, with `read_models`); the Kafka
    parts come when configured (`kafka`; the relay unless `relay` is off)."""
    app = application(settings)
    projections = (_read_models(settings, app, project=project,
                                live_board=writer_loop is None)  # a writer process serves none
                   if read_models else None)
    reactions: Reactions | None = None

    def wake_reactions() -> None:  # built below: the policies write through this writer
        if reactions is not None:
            reactions.nudge()

    listeners = [wake_reactions] if react else []
    if projections is not None:
        listeners.append(projections.nudge)
    writer = CommandWriter(app, max_batch=settings.group_commit_max, commit_listeners=listeners,
                           max_queued=settings.command_queue_max,
                           defaults=NetworkDefaults(hold_for=timedelta(
                               minutes=settings.hold_minutes)))
    if react:
        reactions = Reactions(app, LocalFollowUps(writer),
                              tick_seconds=settings.expiry_tick_seconds,
                              window_lead_minutes=settings.window_lead_minutes,
                              contact_intervals=_contact_intervals(settings))
    runtime = Runtime(settings=settings, app=app, writer=writer, tokens=_tokens(settings),
                      projections=projections, reactions=reactions, duties=duties)
    if kafka and settings.uses_kafka:
        runtime.kafka = _kafka(runtime, relay=relay)  # its consumer sends through the runtime
    if start_writer and writer_loop is not None:
        writer.run_on(writer_loop)
    elif start_writer:
        writer.start()
    if reactions is not None:
        reactions.start()
    return runtime


def _read_models(settings: Settings, app: CorridorApplication, *, project: bool,
                 live_board: bool = True) -> ProjectionService:
    """The read models; with `project`, their runner follows the store in this process
    (woken by this writer's commits and, on PostgreSQL, by other processes' NOTIFY); with
    `live_board`, board changes reach this process's live streams."""
    return ProjectionService(store_config(settings).open(), recorder=app.recorder,
                             run_in_process=project, live_board=live_board)


def _tokens(settings: Settings) -> TokenIssuer:
    return TokenIssuer(auth_secret(settings), timedelta(hours=settings.token_ttl_hours),
                       issuer=settings.token_issuer, audience=settings.token_audience)


def _kafka(runtime: Runtime, *, relay: bool) -> KafkaParts:
    from services.kafka.clients import kafka_probe
    from services.kafka.command_consumer import CommandConsumer
    from services.kafka.relay import EventRelay

    settings = runtime.settings
    return KafkaParts(probe=functools.partial(kafka_probe, settings),
                      relay=EventRelay(runtime.app, settings) if relay else None,
                      command_consumer=CommandConsumer(runtime))


def _storing_duties() -> tuple[Duty, ...]:
    from services.audit.anchoring import anchoring

    return (anchoring(every_seconds=ANCHOR_EVERY_SECONDS), *STARTUP_HOOKS)


def _answering(socket_path: str) -> Duty:
    """The writer process's socket, on which it answers the HTTP workers and the policies."""

    async def start(runtime: Runtime) -> Stop:
        from services.runtime.ipc import WriterServer

        server = WriterServer(runtime)
        await server.start(socket_path)
        return server.close

    return start
