"""Kafka for corridor: the relay (store -> events topic), the consumer-group base that the
projection worker and the command consumer read through, topic management and the AsyncAPI
document.

Modules: messages (wire models), topics, clients (producer settings, readiness probe),
positions (the relay's stored position and leadership), relay, consumer_base (one group
member: rebalance hooks, fetches, commits after processing), dedup (re-deliveries dropped
per stream), projection_worker, command_consumer, asyncapi (+ yamltext). Their command
lines are in services.cli.kafka and services.cli.projections.
"""
