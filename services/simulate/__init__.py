"""A network's day, simulated: the intake bot, volunteers, supervisors, fact-checkers and trolls
of an evacuation network played against a running corridor through its public interfaces
(HTTP, and optionally the Kafka command topic), never its internals.

- commands: a command as the API takes it, and the actors who send them.
- engine: stories as generators of steps (send, read, sleep) on a simulated clock (pure).
- people: the story's mix of people, places and words (intake answers, names, advice).
- world: what the network knows of its cases, volunteers and resources (the simulator's notes).
- stories/: who does what during a day (cases, staff, hazards).
- day: plays a day against a server at a chosen speed, telling the server's clock by its tick.
- http: the HTTP (and Kafka) client with a token per actor.
- summary: the figures a coordinator reads at the end, as text and JSON.
- traffic: the same stories as a closed-loop command source (the benchmark's mix).
"""
