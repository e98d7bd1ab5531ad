"""Over the Kafka command topic a partner's service answers its referrals, as over HTTP,
and is refused every other command (dead-lettered as forbidden)."""

from __future__ import annotations

from uuid import uuid4

import orjson

import services.commands.catalog  # noqa: F401  (registers every command)
from services.auth import TokenIssuer
from services.kafka.command_consumer import Admitted, Refused, admit

TOKENS = TokenIssuer("unit-test-secret-long-enough-for-hs256")
PARTNER = TOKENS.issue("", [], partner_id=uuid4())


def message(name: str, **body: object) -> bytes:
    return orjson.dumps({"command": name, "body": {"command_id": str(uuid4()), **body}})


def test_a_partner_answers_a_referral_over_the_command_topic() -> None:
    decision = admit(message("referrals.answer", referral_id=str(uuid4()), answer="accepted"),
                     [("authorization", f"Bearer {PARTNER}".encode())], TOKENS)

    assert isinstance(decision, Admitted)
    assert decision.principal.partner_id is not None


def test_a_partner_may_send_no_other_command() -> None:
    for name, body in (("cases.take", {"case_id": str(uuid4())}),
                       ("referrals.send", {"referral_id": str(uuid4())})):
        decision = admit(message(name, **body),
                         [("authorization", f"Bearer {PARTNER}".encode())], TOKENS)
        assert isinstance(decision, Refused) and decision.error == "forbidden"
