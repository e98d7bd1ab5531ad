"""A command from Kafka passes the same checks as over HTTP; what fails is dead-lettered with
a reason that carries no input values and without the caller's token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import Field

from services.auth import CallerRole, TokenIssuer
from services.commands import CommandBody, CommandSpec
from services.kafka.command_consumer import Admitted, Refused, admit, dead_letter, reply
from services.kafka.messages import CommandReply, header
from services.runtime.outcomes import Accepted, Rejected

TOKENS = TokenIssuer("unit-test-secret-long-enough-for-hs256")


class RegisterParcel(CommandBody):
    parcel_id: UUID
    label: str = Field(min_length=1)


def _never_called(*_: Any) -> UUID:
    raise AssertionError("admission never runs a handler")


SPEC = CommandSpec(name="parcels.register", path="/parcels/register", body=RegisterParcel,
                   roles=frozenset({CallerRole.INTAKE}), handler=_never_called,
                   summary="Register a parcel", tag="parcels")
CATALOG = {SPEC.name: SPEC}


def bearer(*roles: CallerRole, secret: TokenIssuer = TOKENS) -> list[tuple[str, bytes]]:
    return [("authorization", f"Bearer {secret.issue('intake-svc', list(roles))}".encode())]


def command(body: dict[str, Any] | None = None, name: str = SPEC.name) -> bytes:
    body = {"command_id": str(uuid4()), "parcel_id": str(uuid4()), "label": "box",
            **(body or {})}
    return orjson.dumps({"command": name, "body": body})


def refused(value: bytes | None, headers: list[tuple[str, bytes]]) -> Refused:
    decision = admit(value, headers, TOKENS, CATALOG)
    assert isinstance(decision, Refused), decision
    return decision


def test_a_valid_command_from_an_entitled_caller_is_admitted() -> None:
    decision = admit(command(), bearer(CallerRole.INTAKE), TOKENS, CATALOG)
    assert isinstance(decision, Admitted)
    assert decision.spec is SPEC
    assert decision.principal.actor == "intake-svc"
    assert decision.body.label == "box"  # type: ignore[attr-defined]


def test_an_admin_may_send_any_command_as_over_http() -> None:
    assert isinstance(admit(command(), bearer(CallerRole.ADMIN), TOKENS, CATALOG), Admitted)


def test_bytes_that_are_not_a_command_are_unparseable() -> None:
    for value in (b"\x00\xffnot json", None, b"[1, 2]", b'{"body": {}}'):
        assert refused(value, bearer(CallerRole.INTAKE)).error == "unparseable"


def test_a_command_not_in_the_catalog_is_unknown() -> None:
    decision = refused(command(name="parcels.teleport"), bearer(CallerRole.INTAKE))
    assert decision.error == "unknown-command"
    assert "parcels.teleport" in decision.reason


def test_a_missing_forged_or_expired_token_is_unauthenticated() -> None:
    forged = TokenIssuer("another-secret-long-enough-for-hs256")
    expired = [("authorization", ("Bearer " + TOKENS.issue(
        "intake-svc", [CallerRole.INTAKE], now=datetime.now(UTC) - timedelta(days=2),
        ttl=timedelta(hours=1))).encode())]
    for headers in ([], [("authorization", b"Basic abc")], bearer(CallerRole.INTAKE,
                    secret=forged), expired):
        assert refused(command(), headers).error == "unauthenticated"


def test_a_caller_without_the_role_is_forbidden() -> None:
    decision = refused(command(), bearer(CallerRole.VOLUNTEER))
    assert decision.error == "forbidden"
    assert "intake" in decision.reason


def test_an_invalid_body_names_the_field_but_never_echoes_the_input() -> None:
    secret = "Olena Kovalenko, +380 67 123 4567"
    decision = refused(command({"parcel_id": secret, "label": ""}), bearer(CallerRole.INTAKE))
    assert decision.error == "invalid"
    assert "parcel_id" in decision.reason and "label" in decision.reason
    assert "Olena" not in decision.reason and "380" not in decision.reason


def test_authentication_is_checked_before_the_body_is_looked_at() -> None:
    assert refused(command({"label": ""}), []).error == "unauthenticated"


def received(value: bytes, headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic="corridor.commands", partition=2, offset=41, timestamp=0,
                          timestamp_type=0, key=b"k-1", value=value, checksum=None,
                          serialized_key_size=3, serialized_value_size=len(value),
                          headers=headers)


def test_a_dead_letter_keeps_the_original_bytes_and_headers_but_not_the_token() -> None:
    headers = [*bearer(CallerRole.INTAKE), ("traceparent", b"00-abc-01")]
    letter = dead_letter(received(b"garbage", headers), Refused("unparseable", "not JSON"))
    assert (letter.key, letter.value) == (b"k-1", b"garbage")
    assert header(letter.headers, "authorization") is None
    assert header(letter.headers, "traceparent") == "00-abc-01"
    assert header(letter.headers, "dead-letter-error") == "unparseable"
    assert header(letter.headers, "dead-letter-reason") == "not JSON"
    assert (header(letter.headers, "original-topic"), header(letter.headers, "original-partition"),
            header(letter.headers, "original-offset")) == ("corridor.commands", "2", "41")


def test_a_reply_is_keyed_by_the_command_id_and_carries_the_outcome() -> None:
    admitted = admit(command(), bearer(CallerRole.INTAKE), TOKENS, CATALOG)
    assert isinstance(admitted, Admitted)
    command_id = admitted.body.command_id
    accepted = Accepted(command_id=command_id, stream_id=uuid4(), version=1, position=7)
    message = reply(admitted, accepted)
    assert message.key == str(command_id).encode()
    parsed = CommandReply.model_validate_json(message.value)
    assert parsed.outcome == accepted
    assert parsed.correlation_id == command_id  # no correlation given: the command starts one
    assert header(message.headers, "status") == "accepted"


def test_a_rejection_travels_as_a_rejected_reply() -> None:
    admitted = admit(command(), bearer(CallerRole.INTAKE), TOKENS, CATALOG)
    assert isinstance(admitted, Admitted)
    rejected = Rejected(command_id=admitted.body.command_id, http_status=409,
                        rule="ParcelLost", detail="gone")
    parsed = CommandReply.model_validate_json(reply(admitted, rejected).value)
    assert parsed.outcome == rejected


def test_a_command_naming_a_key_twice_is_refused_naming_the_key() -> None:
    value = command()[:-2] + b',"label":"another box"}}'

    decision = refused(value, bearer(CallerRole.INTAKE))

    assert decision.error == "invalid"
    assert "'label' appears more than once" in decision.reason


def test_an_envelope_naming_a_key_twice_is_refused() -> None:
    value = command()[:-1] + b',"command":"parcels.register"}'

    assert "'command' appears more than once" in refused(value, bearer(CallerRole.INTAKE)).reason
