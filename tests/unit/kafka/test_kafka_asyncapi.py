"""The AsyncAPI document: generated from the wire models, the domain and the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from domain.volunteer import Volunteer
from services.kafka.asyncapi import document, event_types
from services.kafka.yamltext import to_yaml
from services.settings import Settings

DOCS = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


def defaults() -> Settings:
    return Settings(kafka_bootstrap=None, kafka_topic_prefix="corridor.",
                    kafka_event_partitions=6, kafka_command_partitions=3)


def test_the_four_topics_are_described_with_their_names_and_partitions() -> None:
    channels = document(defaults(), events=[], commands={})["channels"]
    assert {c["address"]: c["bindings"]["kafka"]["partitions"] for c in channels.values()} == {
        "corridor.events": 6, "corridor.commands": 3, "corridor.command-replies": 3,
        "corridor.commands-dead-letter": 1}


def test_every_event_type_gets_a_message_with_its_data_schema() -> None:
    doc = document(defaults(), events=event_types([Volunteer]), commands={})
    message = doc["components"]["messages"]["volunteer.VolunteerRegistered"]
    data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
    data = doc["components"]["schemas"][data_ref.rsplit("/", 1)[1]]
    assert {"personal", "languages", "time_zone", "roles"} <= set(data["properties"])
    assert "meta" not in data["properties"]


def test_personal_data_is_documented_as_sealed_with_no_field_for_plaintext() -> None:
    doc = document(defaults(), events=event_types([Volunteer]), commands={})
    sealed = doc["components"]["schemas"]["PersonalData"]
    assert set(sealed["properties"]) == {"subject_id", "sealed"}


def test_references_all_resolve() -> None:
    doc = document(defaults())
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def test_the_checked_in_document_is_up_to_date() -> None:
    # Regenerate with: corridor kafka asyncapi > docs/asyncapi.yaml
    assert DOCS.read_text() == to_yaml(document(defaults()))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_yaml_text_reads_back_as_the_same_data(value: Any) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
