"""The AsyncAPI 3.0 document of corridor's topics, generated from the wire models, the domain's
event classes and the command catalog, so the document cannot drift from the code.

Regenerate with `corridor kafka asyncapi > docs/asyncapi.yaml`.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from domain.base import Meta, PersonalData
from projections.records import split_topic
from services.commands import CATALOG, CommandSpec
from services.kafka.messages import (
    CommandMessage,
    CommandReply,
    DeadLetterHeaders,
    EventHeaders,
    EventMessage,
)
from services.kafka.topics import Topics
from services.settings import Settings

BINDING = "0.5.0"
REF = "#/components/schemas/{model}"
ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                   "meta"}
SEALED = {"type": "object", "title": "SealedPersonalData",
          "description": "Personal data stays sealed in the store and never leaves it: only "
                         "its subject and whether it can still be revealed (not erased).",
          "required": ["subject_id", "sealed"],
          "properties": {"subject_id": {"type": "string", "format": "uuid"},
                         "sealed": {"type": "boolean"}}}


class _SealedSchemas(GenerateJsonSchema):
    """Describe PersonalData as it appears on the wire (sealed), not as the domain holds it."""

    def dataclass_schema(self, schema: Any) -> Any:
        if schema.get("cls") is PersonalData:
            return dict(SEALED)
        return super().dataclass_schema(schema)


@dataclasses.dataclass(frozen=True)
class EventType:
    """One domain event type and the model of its `data`."""

    stream_type: str
    name: str
    data: type[BaseModel]


def event_types(aggregates: Iterable[type] | None = None) -> list[EventType]:
    """Every event class of the domain's aggregates, with its data fields' types."""
    if aggregates is None:
        from domain import aggregates as all_aggregates

        aggregates = all_aggregates()
    found = []
    for aggregate in aggregates:
        for name, value in vars(aggregate).items():
            if name in ("Event", "Created") or not dataclasses.is_dataclass(value):
                continue
            assert isinstance(value, type)
            stream_type, event_name = split_topic(f"{value.__module__}:{value.__qualname__}")
            found.append(EventType(stream_type, event_name, _data_model(aggregate, value)))
    return found


def _data_model(aggregate: type, event_class: type) -> type[BaseModel]:
    try:
        hints = typing.get_type_hints(event_class)
    except (NameError, TypeError):  # unresolvable annotation: document the field as any JSON
        hints = {}
    fields: dict[str, Any] = {
        f.name: (hints.get(f.name, Any), ...) for f in dataclasses.fields(event_class)
        if f.name not in ENVELOPE_FIELDS and hints.get(f.name) is not Meta
    }
    model: type[BaseModel] = create_model(
        f"{aggregate.__name__}{event_class.__name__}Data", __doc__=(
            f"`data` of {aggregate.__name__}.{event_class.__name__}"), **fields)
    return model


def load_catalog() -> dict[str, CommandSpec]:
    """The command catalog with every command registered, by name (the document must not
    depend on which module happened to register its commands first)."""
    importlib.import_module("services.commands.catalog")
    return dict(sorted(CATALOG.items()))


def schemas(events: list[EventType], commands: dict[str, CommandSpec]) -> dict[str, Any]:
    """JSON schemas of every wire model, referenced as #/components/schemas/<name>."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (EventMessage, "serialization"), (EventHeaders, "serialization"),
        (CommandMessage, "validation"), (CommandReply, "serialization"),
        (DeadLetterHeaders, "serialization"),
        *((e.data, "serialization") for e in events),
        *((spec.body, "validation") for spec in commands.values()),
    ]
    _, top = models_json_schema(models, ref_template=REF, schema_generator=_SealedSchemas)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _key(description: str) -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": description},
                      "bindingVersion": BINDING}}


def event_messages(events: list[EventType]) -> dict[str, Any]:
    """The generic event envelope, and one message per event type with its `data` schema."""
    key = _key("the stream id (UUID): a stream's events share a partition, in order")
    messages: dict[str, Any] = {"Event": {
        "name": "Event", "title": "Any stored event", "contentType": "application/json",
        "headers": _ref("EventHeaders"), "payload": _ref("EventMessage"), "bindings": key}}
    for e in events:
        messages[f"{e.stream_type}.{e.name}"] = {
            "name": e.name, "title": f"{e.stream_type} {e.name}",
            "contentType": "application/json", "headers": _ref("EventHeaders"),
            "payload": {"allOf": [_ref("EventMessage"), {"type": "object", "properties": {
                "stream_type": {"const": e.stream_type}, "type": {"const": e.name},
                "data": _ref(e.data.__name__)}}]},
            "bindings": key}
    return messages


def command_messages(commands: dict[str, CommandSpec]) -> dict[str, Any]:
    """One message per catalog command: its name and its body's schema."""
    headers = {"type": "object", "required": ["authorization"], "properties": {
        "authorization": {"type": "string", "description": "Bearer <token>, as over HTTP"}}}
    key = _key("any; the command id (UUID) is a good choice")
    messages: dict[str, Any] = {"Command": {
        "name": "Command", "title": "Any command", "contentType": "application/json",
        "headers": headers, "payload": _ref("CommandMessage"), "bindings": key}}
    for spec in commands.values():
        roles = ", ".join(sorted(spec.roles))
        messages[f"command.{spec.name}"] = {
            "name": spec.name, "title": spec.summary, "contentType": "application/json",
            "description": f"Same as POST /commands{spec.path}. Roles: {roles}.",
            "headers": headers, "bindings": key,
            "payload": {"allOf": [_ref("CommandMessage"), {"type": "object", "properties": {
                "command": {"const": spec.name}, "body": _ref(spec.body.__name__)}}]}}
    return messages


def reply_messages() -> dict[str, Any]:
    """The reply and the dead letter."""
    headers = {"type": "object", "properties": {
        name: {"type": "string"} for name in ("command_id", "correlation_id", "status")}}
    return {
        "CommandReply": {
            "name": "CommandReply", "title": "A command's outcome",
            "contentType": "application/json", "headers": headers,
            "payload": _ref("CommandReply"), "bindings": _key("the command id (UUID)")},
        "DeadLetter": {
            "name": "DeadLetter", "title": "A command that could not be handled",
            "description": "The original key and bytes, its headers without `authorization`, "
                           "and the reason in dead-letter-* headers.",
            "contentType": "application/octet-stream", "headers": _ref("DeadLetterHeaders"),
            "payload": {"type": "string", "format": "binary"},
            "bindings": _key("the original message's key")}}


def _channel(address: str, description: str, names: Iterable[str],
             partitions: int) -> dict[str, Any]:
    return {"address": address, "description": description,
            "messages": {n.replace(".", "_"): {"$ref": f"#/components/messages/{n}"}
                         for n in names},
            "bindings": {"kafka": {"topic": address, "partitions": partitions,
                                   "bindingVersion": BINDING}}}


def channels(settings: Settings, events: Iterable[str],
             commands: Iterable[str]) -> dict[str, Any]:
    """The four topics under the configured prefix, with the names of their messages."""
    topics = Topics.of(settings)
    return {
        "events": _channel(topics.events, "Every stored event, at least once, in order per "
                           "stream; drop re-deliveries by event_id (or version per stream). "
                           "Free text about a case's person (advice, places, reasons) is "
                           "personal data, sealed in `personal`. An event stored by an older "
                           "version of its type (data.class_version lower or absent) has that "
                           "version's fields, its free text withheld as \"[personal data]\".",
                           events, settings.kafka_event_partitions),
        "commands": _channel(topics.commands, "Commands, handled exactly as over HTTP.",
                             commands, settings.kafka_command_partitions),
        "commandReplies": _channel(topics.replies, "One reply per handled command.",
                                   ["CommandReply"], settings.kafka_command_partitions),
        "commandsDeadLetter": _channel(topics.dead_letter, "Commands that could not be "
                                       "parsed, authenticated, authorized or validated.",
                                       ["DeadLetter"], 1),
    }


def operations() -> dict[str, Any]:
    """Who sends and who receives on each channel."""
    def op(action: str, channel: str, summary: str) -> dict[str, Any]:
        return {"action": action, "channel": {"$ref": f"#/channels/{channel}"},
                "summary": summary}

    return {
        "publishEvents": op("send", "events", "The relay publishes the store's events."),
        "receiveCommands": op("receive", "commands", "The command consumer handles them."),
        "sendReplies": op("send", "commandReplies", "The command consumer answers."),
        "sendDeadLetters": op("send", "commandsDeadLetter", "The command consumer gives up."),
    }


def document(settings: Settings, events: list[EventType] | None = None,
             commands: dict[str, CommandSpec] | None = None) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document as plain data."""
    events = event_types() if events is None else events
    commands = load_catalog() if commands is None else commands
    by_event, by_command = event_messages(events), command_messages(commands)
    messages = {**by_event, **by_command, **reply_messages()}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "corridor events and commands", "version": "0.1.0",
                 "description": "Kafka topics of corridor. Topic names carry the prefix "
                                "CORRIDOR_KAFKA_TOPIC_PREFIX (here "
                                f"{settings.kafka_topic_prefix!r}). Personal data never "
                                "appears in plaintext on the events topic."},
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": settings.kafka_bootstrap or "localhost:9092",
                              "protocol": "kafka"}},
        "channels": channels(settings, by_event, by_command),
        "operations": operations(),
        "components": {"messages": messages, "schemas": schemas(events, commands)},
    }
