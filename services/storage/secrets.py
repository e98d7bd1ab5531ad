"""Master key and token secret: from the settings, or kept in the data folder on the
embedded default so that a newcomer's first run needs no set-up."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.settings import Settings
from services.storage.sealing import decode_master_key, new_master_key


class MissingSecret(RuntimeError):
    """A production store was configured without its secrets."""


def _from_file(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(make)
    return make


def master_key(settings: Settings) -> bytes:
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value())
    if settings.store == "postgres":
        raise MissingSecret("CORRIDOR_MASTER_KEY must be set with CORRIDOR_STORE=postgres "
                            "(create one with `corridor keygen`)")
    return decode_master_key(_from_file(settings.data_dir / "master.key", new_master_key()))


def retired_master_keys(settings: Settings) -> dict[int, bytes]:
    """The previous master key (version - 1) while a rotation is being rolled out."""
    if settings.previous_master_key is None or settings.master_key_version < 2:
        return {}
    key = decode_master_key(settings.previous_master_key.get_secret_value())
    return {settings.master_key_version - 1: key}


def auth_secret(settings: Settings) -> str:
    if settings.auth_secret is not None:
        return settings.auth_secret.get_secret_value()
    if settings.store == "postgres":
        raise MissingSecret("CORRIDOR_AUTH_SECRET must be set with CORRIDOR_STORE=postgres")
    return _from_file(settings.data_dir / "auth.secret", secrets.token_urlsafe(32))
