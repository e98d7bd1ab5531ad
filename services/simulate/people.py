"""The story's mix: where requests come from and go to, who asks (alone, with children, pets,
medical needs, mobility), and the words volunteers type. Every personal value is made up,
drawn from the seed, and distinctive, so a scan can prove none is stored in plaintext."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

REGIONS = {"Kharkiv": 0.24, "Donetsk": 0.16, "Zaporizhzhia": 0.15, "Sumy": 0.1,
           "Kherson": 0.1, "Mykolaiv": 0.08, "Dnipro": 0.07, "Chernihiv": 0.05,
           "Kyiv oblast": 0.05}
"""Regions near the front requests come from, by share of requests."""
ABROAD = ("Warsaw", "Przemysl", "Krakow", "Berlin", "Chisinau", "Prague", "Vienna")
AT_HOME = ("Lviv", "Uzhhorod", "Chernivtsi", "Ivano-Frankivsk")
CROSSINGS = {"Warsaw": "Shehyni-Medyka", "Przemysl": "Shehyni-Medyka", "Krakow": "Krakovets",
             "Berlin": "Yahodyn-Dorohusk", "Prague": "Uzhhorod-Vysne Nemecke",
             "Vienna": "Chop-Zahony", "Chisinau": "Palanca"}
WAYPOINTS = ("Poltava", "Kropyvnytskyi", "Vinnytsia", "Khmelnytskyi", "Zhytomyr", "Rivne",
             "Ternopil", "Uman")
TIME_ZONES = ("Europe/Kyiv", "Europe/Warsaw", "Europe/Berlin", "Europe/London",
              "Europe/Lisbon", "Asia/Tbilisi", "America/Toronto")
"""Where volunteers live: seven countries, several time zones."""
CHANNELS = {"telegram": 0.55, "phone": 0.2, "web": 0.15, "signal": 0.05, "viber": 0.05}
LANGUAGES = ((("uk",), 0.7), (("uk", "ru"), 0.2), (("ru",), 0.07), (("uk", "en"), 0.03))

FIRST = ("Olena", "Iryna", "Mykola", "Oksana", "Taras", "Halyna", "Bohdan", "Nadiia",
         "Serhii", "Liudmyla", "Andrii", "Tetiana", "Vasyl", "Kateryna", "Yurii", "Zoriana",
         "Petro", "Larysa", "Dmytro", "Valentyna", "Roman", "Svitlana", "Ostap", "Marta")
LAST = ("Kovalenko", "Shevchuk", "Bondarenko", "Tkachenko", "Kravets", "Melnyk", "Oliinyk",
        "Lysenko", "Rudenko", "Savchenko", "Moroz", "Petrenko", "Hnatiuk", "Zinchenko",
        "Pavlenko", "Voloshyn", "Marchenko", "Dovzhenko", "Yaremchuk", "Fedoriv")
STREETS = ("Sumska", "Pushkinska", "Klochkivska", "Nauky", "Heroiv Pratsi", "Shevchenka",
           "Soborna", "Zavodska", "Myru", "Vokzalna")
HEALTH = ("insulin twice a day, supply for 3 days left", "wheelchair user after a stroke",
          "oxygen concentrator, needs power", "pregnant, 34 weeks", "dialysis every 3 days",
          "bedridden grandmother, 91", "epilepsy, medication running out",
          "recent surgery, cannot walk far")
SHELTER_PLACES = ("school gym", "church hall", "sports arena", "university dormitory",
                  "railway station hall", "kindergarten basement", "community centre")


@dataclass(frozen=True)
class Person:
    """A person in need as the intake survey hears of them (made up)."""

    name: str
    phone: str
    handle: str
    address: str


def person(rng: random.Random, serial: int) -> Person:
    """A made-up person; the serial makes their handle and address unique."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    phone = f"+380 {rng.choice((50, 63, 66, 67, 68, 93, 95, 97))} {rng.randint(100, 999)} " \
            f"{rng.randint(10, 99)} {serial % 100:02d}"
    handle = f"@{first.lower()}_{last.lower()}_{serial}"
    address = f"{rng.choice(STREETS)} St {rng.randint(1, 120)}, flat {serial}"
    return Person(name=f"{first} {last}", phone=phone, handle=handle, address=address)


def weighted(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), list(shares.values()))[0]


def destination(rng: random.Random) -> str:
    return rng.choice(ABROAD) if rng.random() < 0.6 else rng.choice(AT_HOME)


@dataclass(frozen=True)
class Household:
    """Who leaves together, as the survey asks it."""

    adults: int
    children_ages: list[int]
    pets: int
    mobility_needs: bool
    medical_needs: bool


def household(rng: random.Random) -> Household:
    """Alone (a third), a couple or an elderly parent, children (two in five), pets (one in
    five); mobility (one in eight) and medical needs (one in seven)."""
    alone = rng.random() < 0.35
    adults = 1 if alone else rng.choice((1, 2, 2, 3))
    children = [] if alone or rng.random() >= 0.6 else [rng.randint(0, 17)
                                                        for _ in range(rng.randint(1, 3))]
    return Household(adults=adults, children_ages=children,
                     pets=rng.choice((1, 1, 2)) if rng.random() < 0.2 else 0,
                     mobility_needs=rng.random() < 0.12, medical_needs=rng.random() < 0.15)


def intake(rng: random.Random, who: Person, region: str, *, dangerous_hour: bool,
           ) -> dict[str, Any]:
    """The survey's answers: readable ones set the urgency; name, contact, address, health
    and notes are personal data (sealed by the server)."""
    home = household(rng)
    channel = weighted(rng, CHANNELS)
    languages = rng.choices([langs for langs, _ in LANGUAGES],
                            [share for _, share in LANGUAGES])[0]
    answers: dict[str, Any] = {
        "safe_now": rng.random() < (0.45 if dangerous_hour else 0.75),
        "region": region, "destination": destination(rng), "contact_channel": channel,
        "adults": home.adults, "children_ages": home.children_ages, "pets": home.pets,
        "mobility_needs": home.mobility_needs, "medical_needs": home.medical_needs,
        "needs_medicine": home.medical_needs or rng.random() < 0.1,
        "needs_food": rng.random() < 0.3, "needs_clothes": rng.random() < 0.15,
        "languages": list(languages), "name": who.name,
        "contact_handle": who.handle if channel in ("telegram", "web") else who.phone,
        "exact_location": who.address,
    }
    if home.medical_needs or home.mobility_needs:
        answers["health_details"] = rng.choice(HEALTH)
    if home.children_ages:
        answers["notes"] = f"{who.name.split()[0]} asks for a car seat for the youngest"
    return answers


def personal_values(answers: dict[str, Any]) -> list[str]:
    """The answers that are personal data (what must never be stored in plaintext)."""
    return [answers[k] for k in ("name", "contact_handle", "exact_location", "health_details",
                                 "notes") if answers.get(k)]
