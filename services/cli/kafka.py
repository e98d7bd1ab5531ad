"""Kafka entry points: `corridor relay`, `corridor command-consumer`, `corridor kafka ...`."""

from __future__ import annotations

import asyncio
import json
import signal

import typer

from services import bootstrap
from services.settings import Settings


def stop_signalled() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


async def _relay(settings: Settings, name: str, batch_size: int) -> None:
    relay = await asyncio.to_thread(bootstrap.for_relay, settings, name=name,
                                    batch_size=batch_size)
    try:
        await relay.run(stop_signalled())
    finally:
        relay.app.close()


async def _command_consumer(settings: Settings) -> None:
    runtime = await asyncio.to_thread(bootstrap.for_command_consumer, settings)
    async with runtime.running():
        await stop_signalled().wait()


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
