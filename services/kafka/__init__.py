"""Kafka for corridor: the relay (store -> events topic), the events consumer library, the
command topic consumer, topic management and the AsyncAPI document.

Modules: messages (wire models), topics, clients (producer settings, readiness probe),
positions (the relay's stored position and leadership), relay, consumer, commands,
asyncapi (+ yamltext), cli (`corridor relay`, `corridor command-consumer`,
`corridor kafka asyncapi|topics`, `start_in_process`).
"""
