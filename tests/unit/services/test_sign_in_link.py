"""`corridor token --link`: a one-time console sign-in link whose code is no API token and
travels only in the URL's fragment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.auth import NotAuthenticated, TokenIssuer
from services.cli.main import app

SECRET = "unit-test-secret-long-enough-for-hs256"


def test_the_link_carries_a_sign_in_code_in_its_fragment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CORRIDOR_AUTH_SECRET", SECRET)
    monkeypatch.setenv("CORRIDOR_DATA_DIR", str(tmp_path))

    printed = CliRunner().invoke(app, ["token", "--actor", "v-1", "--role", "volunteer",
                                       "--link", "--base-url", "https://corridor.example/"])

    assert printed.exit_code == 0, printed.output
    link = printed.stdout.strip()
    base, _, code = link.partition("#sign-in=")
    assert base == "https://corridor.example/console/" and "?" not in link
    issuer = TokenIssuer(SECRET)
    principal, jti, _ = issuer.redeem_sign_in(code)
    assert principal.actor == "v-1" and jti
    with pytest.raises(NotAuthenticated, match="aud"):
        issuer.verify(code)  # a code is no bearer token


def test_a_token_is_no_sign_in_code() -> None:
    issuer = TokenIssuer(SECRET)

    with pytest.raises(NotAuthenticated, match="aud"):
        issuer.redeem_sign_in(issuer.issue("v-1", ["volunteer"]))
