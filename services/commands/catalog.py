"""Importing this module registers every command in CATALOG."""

from services.commands import cases, resources, volunteers

__all__ = ["cases", "resources", "volunteers"]
