"""Kafka entry points: `corridor relay`, `corridor command-consumer`, `corridor kafka ...`, and
`start_in_process` for the API's lifespan."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
from collections.abc import Awaitable, Callable

import typer

from services.bootstrap import Runtime
from services.kafka.clients import kafka_probe
from services.kafka.command_consumer import CommandConsumer
from services.kafka.relay import EventRelay
from services.settings import Settings

log = logging.getLogger("corridor.kafka")

Stop = Callable[[], Awaitable[None]]
Worker = Callable[[asyncio.Event], Awaitable[None]]

__all__ = ["kafka_probe", "register", "start_in_process"]


async def start_in_process(runtime: Runtime) -> Stop:
    """Run the relay and the command consumer as tasks when Kafka is configured."""
    if not runtime.settings.kafka_bootstrap:
        return _nothing_to_stop
    stopping = asyncio.Event()
    relay, commands = EventRelay(runtime.app, runtime.settings), CommandConsumer(runtime)
    tasks = [asyncio.create_task(relay.run(stopping), name="corridor-relay"),
             asyncio.create_task(commands.run(stopping), name="corridor-command-consumer")]
    runtime.extras.update(relay=relay, command_consumer=commands,
                          kafka_probe=functools.partial(kafka_probe, runtime.settings))
    return functools.partial(_stop, runtime, stopping, tasks)


async def _stop(runtime: Runtime, stopping: asyncio.Event, tasks: list[asyncio.Task[None]],
                timeout: float = 15.0) -> None:
    stopping.set()
    _, late = await asyncio.wait(tasks, timeout=timeout)
    for task in late:  # a broker that is down can hold a flush; do not hold shutdown
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for name in ("kafka_probe", "relay", "command_consumer"):
        runtime.extras.pop(name, None)


async def _nothing_to_stop() -> None:
    return None


async def until_signalled(work: Worker) -> None:
    """Run `work` until SIGTERM or SIGINT asks it to stop."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await work(stopping)


async def _relay(settings: Settings, name: str, batch_size: int) -> None:
    from services.storage.application import CorridorApplication
    from services.storage.secrets import master_key

    app = await asyncio.to_thread(CorridorApplication, settings, master_key(settings))
    try:
        await until_signalled(EventRelay(app, settings, name=name, batch_size=batch_size).run)
    finally:
        app.close()


async def _command_consumer(settings: Settings) -> None:
    from services.bootstrap import build_runtime

    runtime = await asyncio.to_thread(build_runtime, settings)
    try:
        await until_signalled(CommandConsumer(runtime).run)
    finally:
        await asyncio.to_thread(runtime.close)


def _settings() -> Settings:
    from services.logs import configure

    settings = Settings()
    configure(json=settings.log_json)
    if not settings.kafka_bootstrap:
        raise typer.BadParameter("set CORRIDOR_KAFKA_BOOTSTRAP (e.g. 127.0.0.1:9092)")
    return settings


def relay(name: str = typer.Option("events", help="relay name (its stored position)"),
          batch_size: int = typer.Option(500, min=1, help="notifications per read")) -> None:
    """Publish the event store to the events topic until SIGTERM/SIGINT (standbys wait)."""
    asyncio.run(_relay(_settings(), name, batch_size))


def command_consumer() -> None:
    """Handle commands from the command topic until SIGTERM/SIGINT."""
    asyncio.run(_command_consumer(_settings()))


def asyncapi(as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML")) -> None:
    """Print the AsyncAPI document of the topics (docs/asyncapi.yaml)."""
    from services.kafka.asyncapi import document
    from services.kafka.yamltext import to_yaml

    doc = document(Settings())
    typer.echo(json.dumps(doc, indent=2) + "\n" if as_json else to_yaml(doc), nl=False)


def topics() -> None:
    """Create the missing topics with the configured partitions."""
    from services.kafka.topics import ensure_topics

    created = asyncio.run(ensure_topics(_settings()))
    typer.echo("created: " + (", ".join(created) or "nothing (all exist)"))


def register(app: typer.Typer) -> None:
    """Add the Kafka commands to the `corridor` command line."""
    app.command("relay")(relay)
    app.command("command-consumer")(command_consumer)
    kafka = typer.Typer(help="Kafka topics and their documentation", no_args_is_help=True)
    kafka.command("asyncapi")(asyncapi)
    kafka.command("topics")(topics)
    app.add_typer(kafka, name="kafka")
