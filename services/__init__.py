"""Application services, HTTP API, Kafka relay and command consumer, settings and CLI."""
