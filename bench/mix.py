"""The realistic command mix, as plain data both executors share (HTTP and in-process).

Per simulated client: 40% open a case, 20% take an open case, 30% a step on a case it holds
(give advice naming a verified transport, record departure, record a checkpoint), 10% a
resource update (re-verify a transport, or update a shelter's occupancy). Every command is
valid when sent, so every answer should be 200; cases are taken from one shared queue of
acknowledged open cases, so two clients never race for the same case.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

WEIGHTS = (("open", 0.40), ("take", 0.20), ("step", 0.30), ("resource", 0.10))
REGIONS = ("Kharkiv", "Sumy", "Zaporizhzhia", "Kherson", "Donetsk", "Dnipro", "Mykolaiv")
DESTINATIONS = ("Lviv", "Uzhhorod", "Chernivtsi", "Warsaw", "Przemysl", "Chisinau")
CHANNELS = ("telegram", "phone", "web", "signal")
CHECKPOINTS = ("Pisochyn", "Poltava", "Kropyvnytskyi", "Vinnytsia", "Khmelnytskyi")
ADVICE = ("Leave before curfew; the convoy meets at the station.",
          "Stay in the shelter tonight; the road is shelled.",
          "Take the bus at 7:00; bring documents and water.")
HELD_LIMIT = 8
CLIENT_ROLES = ("volunteer", "fact_checker")
ADMIN = "admin"


@dataclass(frozen=True)
class Command:
    """One command as the API takes it: catalog path, JSON body and who sends it."""

    kind: str
    path: str
    body: dict[str, Any]
    actor: str
    roles: tuple[str, ...]

    @property
    def stream_id(self) -> UUID | None:
        for key in ("case_id", "resource_id", "volunteer_id"):
            if key in self.body:
                return UUID(self.body[key])
        return None


Sender = tuple[str, tuple[str, ...]]
"""(actor, roles) of whoever sends a command."""


def _command(kind: str, path: str, sender: Sender, /, **fields: Any) -> Command:
    body = {"command_id": str(uuid4()), **{k: str(v) if isinstance(v, UUID) else v
                                           for k, v in fields.items()}}
    return Command(kind=kind, path=path, body=body, actor=sender[0], roles=sender[1])


@dataclass
class World:
    """What the mix relies on, created before timing: trained volunteers who are also
    fact-checkers (one per client), verified transports and shelters, one reporter."""

    volunteers: list[UUID]
    reporter: UUID
    transports: list[UUID]
    shelters: list[UUID]
    shelter_capacity: int = 200

    @classmethod
    def new(cls, clients: int, transports: int = 16, shelters: int = 8) -> World:
        return cls(volunteers=[uuid4() for _ in range(clients)], reporter=uuid4(),
                   transports=[uuid4() for _ in range(transports)],
                   shelters=[uuid4() for _ in range(shelters)])

    def setup_phases(self) -> list[list[Command]]:
        """Commands creating the world, in phases; commands within a phase are independent."""
        admin: Sender = (ADMIN, (ADMIN,))
        checker: Sender = (str(self.volunteers[0]), CLIENT_ROLES)
        reporter: Sender = (str(self.reporter), ("volunteer",))
        register = [_command("setup", "/volunteers/register", admin, volunteer_id=v,
                             display_name=f"Volunteer {i}", roles=list(CLIENT_ROLES),
                             languages=["uk", "en"])
                    for i, v in enumerate(self.volunteers)]
        register.append(_command("setup", "/volunteers/register", admin,
                                 volunteer_id=self.reporter, display_name="Reporter"))
        train = [_command("setup", "/volunteers/log-training", admin, volunteer_id=v,
                          minutes=300, topic="casework basics") for v in self.volunteers]
        report = [_command("setup", "/resources/report", reporter, resource_id=r,
                           kind="transport", region=random.choice(REGIONS),
                           details="minibus, 12 seats") for r in self.transports]
        report += [_command("setup", "/resources/report", reporter, resource_id=r,
                            kind="shelter", region=random.choice(REGIONS),
                            capacity=self.shelter_capacity, details="school gym")
                   for r in self.shelters]
        verify = [_command("setup", "/resources/verify", checker, resource_id=r)
                  for r in [*self.transports, *self.shelters]]
        return [register, train + report, verify]


@dataclass
class ClientState:
    """One simulated volunteer: the cases it holds (id -> journey stage) and its dice."""

    volunteer_id: UUID
    rng: random.Random
    held: dict[UUID, str] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)


class Workload:
    """Hands each client its next command and learns from the answers (shared by clients)."""

    def __init__(self, world: World, seed: int = 7) -> None:
        self.world = world
        self.unassigned: deque[UUID] = deque()
        self._seed = seed
        self._kinds = [k for k, _ in WEIGHTS]
        self._weights = [w for _, w in WEIGHTS]

    def client(self, index: int) -> ClientState:
        volunteer = self.world.volunteers[index % len(self.world.volunteers)]
        return ClientState(volunteer_id=volunteer, rng=random.Random(self._seed * 1000 + index))

    def next_command(self, client: ClientState) -> Command:
        kind = client.rng.choices(self._kinds, self._weights)[0]
        if kind == "step" and not client.held:
            kind = "take"
        if kind == "take" and not self.unassigned:
            kind = "open"
        make = {"open": self._open, "take": self._take, "step": self._step,
                "resource": self._resource}[kind]
        command = make(client)
        client.sent[command.kind] = client.sent.get(command.kind, 0) + 1
        return command

    def acknowledged(self, client: ClientState, command: Command) -> None:
        """Record a 200 answer: the case is open, held, or on its way."""
        if command.kind == "open":
            self.unassigned.append(UUID(command.body["case_id"]))
        elif command.kind == "take":
            client.held[UUID(command.body["case_id"])] = "waiting"
            while len(client.held) > HELD_LIMIT:
                del client.held[next(iter(client.held))]
        elif command.kind == "departure":
            client.held[UUID(command.body["case_id"])] = "en_route"

    def _actor(self, client: ClientState) -> Sender:
        return str(client.volunteer_id), CLIENT_ROLES

    def _open(self, client: ClientState) -> Command:
        rng = client.rng
        intake = {"safe_now": rng.random() < 0.6, "region": rng.choice(REGIONS),
                  "destination": rng.choice(DESTINATIONS), "contact_channel": rng.choice(CHANNELS),
                  "adults": rng.randint(1, 3),
                  "children_ages": [rng.randint(0, 17) for _ in range(rng.randint(0, 3))],
                  "pets": rng.randint(0, 1), "mobility_needs": rng.random() < 0.1,
                  "medical_needs": rng.random() < 0.15, "needs_food": rng.random() < 0.3,
                  "languages": ["uk"], "name": "Olena K.", "contact_handle": "@olena_k",
                  "exact_location": "Sumska St 12, flat 4"}
        return _command("open", "/cases/open", self._actor(client), case_id=uuid4(),
                        person_id=uuid4(), intake=intake)

    def _take(self, client: ClientState) -> Command:
        return _command("take", "/cases/take", self._actor(client),
                        case_id=self.unassigned.popleft())

    def _step(self, client: ClientState) -> Command:
        rng = client.rng
        case_id = rng.choice(list(client.held))
        actor = self._actor(client)
        if client.held[case_id] == "waiting":
            return _command("departure", "/cases/record-departure", actor, case_id=case_id)
        if rng.random() < 0.5:
            return _command("advice", "/cases/give-advice", actor, case_id=case_id,
                            text=rng.choice(ADVICE),
                            resource_ids=[str(rng.choice(self.world.transports))])
        return _command("checkpoint", "/cases/record-checkpoint", actor, case_id=case_id,
                        checkpoint=rng.choice(CHECKPOINTS))

    def _resource(self, client: ClientState) -> Command:
        rng = client.rng
        if rng.random() < 0.5:
            return _command("verify", "/resources/verify", self._actor(client),
                            resource_id=rng.choice(self.world.transports))
        return _command("occupancy", "/resources/update-occupancy", self._actor(client),
                        resource_id=rng.choice(self.world.shelters),
                        occupancy=rng.randint(0, self.world.shelter_capacity - 1))
