"""NOMINAL: persons with names from many cultures, partial dates of birth and notices."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from loaders.generators.common import STATES, Columns, Serials, chunks_of, past_day, visible_to

NOMINAL_FIELDS = (
    "surname", "given_names", "dob", "nationality", "sex", "aliases", "notice_type",
    "reference", "reported_on", "visible_to",
)  # fmt: skip

# (surnames, male given names, female given names, nationality) per naming culture
CULTURES: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str], ...] = (
    (("SMITH", "JOHNSON", "BROWN", "WILLIAMS", "MILLER", "DAVIS", "WILSON", "TAYLOR"),
     ("JAMES", "JOHN", "ROBERT", "MICHAEL", "DAVID", "WILLIAM"),
     ("MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "SUSAN"), "USA"),
    (("MÜLLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER"),
     ("LUKAS", "JONAS", "MAXIMILIAN", "FELIX", "PAUL", "STEFAN"),
     ("ANNA", "LENA", "SOPHIE", "KATHARINA", "JULIA", "SABINE"), "D"),
    (("GARCÍA", "FERNÁNDEZ", "GONZÁLEZ", "RODRÍGUEZ", "LÓPEZ", "MARTÍNEZ", "SÁNCHEZ"),
     ("JOSÉ", "ANTONIO", "MANUEL", "FRANCISCO", "JUAN", "JAVIER"),
     ("MARÍA", "CARMEN", "JOSEFA", "ISABEL", "LAURA", "LUCÍA"), "ESP"),
    (("IVANOV", "SMIRNOV", "KUZNETSOV", "POPOV", "VASILIEV", "PETROV", "SOKOLOV"),
     ("ALEKSANDR", "SERGEI", "DMITRII", "ANDREI", "ALEKSEI", "MIKHAIL"),
     ("ELENA", "OLGA", "NATALIA", "TATIANA", "IRINA", "SVETLANA"), "RUS"),
    (("AL-RASHID", "HASSAN", "HUSSEIN", "ABDULLAH", "AL-SAYED", "IBRAHIM", "MAHMOUD"),
     ("MOHAMMED", "AHMED", "ALI", "OMAR", "KHALID", "YOUSSEF"),
     ("FATIMA", "AISHA", "MARYAM", "ZAINAB", "LAYLA", "NOUR"), "EGY"),
    (("WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO"),
     ("WEI", "JUN", "LEI", "QIANG", "MING", "HAO"),
     ("FANG", "JING", "LI NA", "XIU YING", "YAN", "MIN"), "CHN"),
    (("NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "PHAN"),
     ("VAN AN", "MINH", "DUC", "QUANG", "TUAN", "HUNG"),
     ("THI LAN", "THI HUONG", "NGOC ANH", "THU", "LINH", "MAI"), "VNM"),
    (("DA SILVA", "DOS SANTOS", "OLIVEIRA", "SOUZA", "PEREIRA", "COSTA", "FERREIRA"),
     ("JOÃO", "PEDRO", "LUCAS", "GABRIEL", "RAFAEL", "MATEUS"),
     ("ANA", "JULIANA", "FERNANDA", "BEATRIZ", "CAMILA", "LARISSA"), "BRA"),
    (("OKAFOR", "ADEYEMI", "OKONKWO", "BELLO", "EZE", "MUSA", "ABUBAKAR"),
     ("CHINEDU", "EMEKA", "OLUWASEUN", "IBRAHIM", "TUNDE", "SANI"),
     ("NGOZI", "ADAEZE", "FUNMILAYO", "AMINA", "CHIAMAKA", "HAUWA"), "NGA"),
    (("KOWALSKI", "NOWAK", "WIŚNIEWSKI", "WÓJCIK", "KOWALCZYK", "KAMIŃSKI"),
     ("PIOTR", "KRZYSZTOF", "ANDRZEJ", "TOMASZ", "PAWEŁ", "MAREK"),
     ("ANNA", "MARIA", "KATARZYNA", "MAŁGORZATA", "AGNIESZKA", "BARBARA"), "POL"),
)  # fmt: skip
NOTICES = (("RED", 0.55), ("YELLOW", 0.2), ("BLUE", 0.12), ("BLACK", 0.03), ("GREEN", 0.04),
           ("ORANGE", 0.01), ("PURPLE", 0.01), ("UNSC", 0.04))  # fmt: skip
NOTICE_PREFIX = {"RED": "A", "YELLOW": "A", "BLUE": "B", "BLACK": "D", "GREEN": "G",
                 "ORANGE": "O", "PURPLE": "P", "UNSC": "UN"}  # fmt: skip


def dob(rng: random.Random, today: date) -> str:
    """Mostly a full date; sometimes only the year, a year and month, or "circa" a year."""
    born = today - timedelta(days=rng.randint(16 * 365, 80 * 365))
    roll = rng.random()
    if roll < 0.75:
        return born.isoformat()
    if roll < 0.85:
        return born.isoformat()[:7]
    if roll < 0.95:
        return str(born.year)
    return f"~{born.year}"


def nominal_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    references = Serials("DDDD", seed)
    kinds = [kind for kind, _ in NOTICES]
    weights = [weight for _, weight in NOTICES]

    def row(rng: random.Random, index: int) -> list[str]:
        surnames, males, females, home = rng.choice(CULTURES)
        sex = rng.choice("MF")
        given = rng.choice(males if sex == "M" else females)
        if rng.random() < 0.4:
            given += " " + rng.choice(males if sex == "M" else females)
        surname = rng.choice(surnames)
        if rng.random() < 0.2:
            surname += "-" + rng.choice(surnames) if home in ("ESP", "BRA") else ""
        notice = rng.choices(kinds, weights)[0]
        reported = past_day(rng, today, 15)
        year_share, rest = divmod(index, references.capacity)
        reference = f"{NOTICE_PREFIX[notice]}-{references(rest)}/{year_share + 1}-{reported[:4]}"
        aliases = ""
        if rng.random() < 0.2:
            aliases = f"{rng.choice(surnames)} {given}"
        nationality = home if rng.random() < 0.8 else STATES.draw(rng)
        if rng.random() < 0.05:
            nationality += ";" + STATES.draw(rng)
        return [
            surname,
            given,
            dob(rng, today),
            nationality,
            sex,
            aliases,
            notice,
            reference,
            reported,
            visible_to(rng),
        ]

    return chunks_of(row, records, seed, "NOMINAL")
