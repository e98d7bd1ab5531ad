"""Queries over the live read models, each with its pydantic row and page models."""
