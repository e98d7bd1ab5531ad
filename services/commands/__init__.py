"""The command catalog: one pydantic request model and one handler per domain command."""

from services.commands.registry import CATALOG, CommandBody, CommandSpec, command

__all__ = ["CATALOG", "CommandBody", "CommandSpec", "command"]
