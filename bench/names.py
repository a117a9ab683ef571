"""The name matcher's bench: recall on spelling variants, false positives, queries/s.

NOMINAL is loaded (a real `load`) with the UN list (shared/data) and generated persons up
to N. Two query sets are then screened one query at a time on one core:

- variants of every listed individual's name, the way a passport or a clerk writes it:
  another transliteration (MUHAMMAD/MOHAMMED, OU/U, Q/K, KH/H ...), another token order,
  particles left out (AL-, BIN ...), a typo (one letter dropped, doubled, swapped or
  replaced by a neighbour on the keyboard). The query's date of birth is the listed one
  (a full date when known; a date in the listed year, or near an approximate one; a random
  one for the 39 without). Recall: the share whose hits include the listed person.
- travellers who are not listed: generated names from the same pools as the generated
  persons, with random dates of birth. False-positive rate: the share with any hit.

Targets (issue 6): recall >= 0.95, false positives < 1 in 1,000, >= 5,000 queries/s on
one core, at 1 million persons. Nothing here asserts them; `main` prints what it measures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from loaders.birth_dates import parse_birth_dates
from loaders.names import PARTICLES
from loaders.un_xml import read_un_rows

UN_LIST = Path(__file__).resolve().parents[2] / "shared" / "data"
UN_FILE = "un-sc-consolidated-2018-10-29.xml"
KEY_SCHEME = 1
"""Part of the loaded data's directory name: bump it when loaders/names.py changes the keys
a person is indexed under, so a kept `WORK` directory is not measured with stale keys."""


def _words(text: str) -> tuple[str, ...]:
    """A word list written as text: it reads (and diffs) best that way."""
    return tuple(text.split())


GIVEN = _words(
    "JAMES JOHN ROBERT MICHAEL WILLIAM DAVID RICHARD JOSEPH THOMAS CHARLES MARY PATRICIA "
    "JENNIFER LINDA ELIZABETH BARBARA SUSAN JESSICA SARAH KAREN ANNA MARIA ELENA SOFIA "
    "LAURA LUCIA MARTA PAULA CARMEN ANA JOSE ANTONIO MANUEL FRANCISCO JUAN PEDRO LUIS "
    "CARLOS JAVIER MIGUEL PIERRE JEAN MARIE CLAIRE LOUIS NICOLAS JULIEN CAMILLE HANS PETER "
    "KLAUS JUERGEN STEFAN ANDREAS MARKUS UWE SABINE URSULA KATRIN MONIKA GIUSEPPE GIOVANNI "
    "FRANCESCO MARCO ALESSANDRO LUCA MATTEO CHIARA GIULIA FRANCESCA IVAN SERGEI VLADIMIR "
    "DMITRII ALEKSEI OLGA TATIANA NATALIA IRINA SVETLANA PIOTR KRZYSZTOF TOMASZ AGNIESZKA "
    "KATARZYNA JAN ERIK LARS OLOF INGRID ASTRID SIGRID BJORN MOHAMMED AHMED ALI OMAR "
    "YOUSSEF HASSAN HUSSEIN IBRAHIM KHALID MAHMOUD MUSTAFA TARIQ SAMIR KARIM FATIMA AISHA "
    "KHADIJA MARYAM ZAINAB LAYLA NOUR AMINA SALMA HIROSHI TAKESHI YUKI HARUTO SAKURA KENJI "
    "WEI JING LI MING XIAO HUA MINH ANH LINH DUC ARJUN RAHUL PRIYA ANJALI SURESH RAMESH "
    "DEEPAK SUNITA KWAME KOFI AMARA CHIDI NGOZI OLUWASEUN THABO SIPHO AYODELE EMEKA FEMI "
    "JOAO LUCAS GABRIEL RAFAEL BEATRIZ MATEUS TIAGO MEHMET MUSTAFA AYSE EMINE FATMA HAKAN "
    "BURAK ZEYNEP ELIF DANIEL EMMA OLIVIA NOAH LIAM SOPHIE CHLOE LEON FELIX PAUL MAX MIA "
    "LENA HANNAH LEA NIKOLAOS GEORGIOS DIMITRIOS ELENI KONSTANTINOS ARAM ARMEN GIORGI DAVIT "
    "NINO TAMAR REZA ALI MEHDI SARA NEDA PARISA ARASH DARIUS FARID NASSER WALID RAMI JAMAL "
    "SAID RACHID NADIA"
)
SURNAMES = _words(
    "SMITH JOHNSON WILLIAMS BROWN JONES MILLER DAVIS WILSON ANDERSON TAYLOR THOMAS MOORE "
    "MARTIN JACKSON THOMPSON WHITE HARRIS CLARK LEWIS ROBINSON WALKER YOUNG ALLEN KING "
    "GARCIA MARTINEZ RODRIGUEZ LOPEZ GONZALEZ HERNANDEZ PEREZ SANCHEZ RAMIREZ TORRES FLORES "
    "RIVERA GOMEZ DIAZ MORENO MUNOZ ALVAREZ ROMERO NAVARRO DOMINGUEZ GIL VAZQUEZ SERRANO "
    "DUBOIS DURAND LEROY MOREAU SIMON LAURENT LEFEBVRE MICHEL GARNIER FAURE ROUSSEAU BLANC "
    "MUELLER SCHMIDT SCHNEIDER FISCHER WEBER MEYER WAGNER BECKER SCHULZ HOFFMANN KOCH "
    "RICHTER KLEIN WOLF SCHROEDER NEUMANN SCHWARZ ZIMMERMANN BRAUN KRUEGER ROSSI RUSSO "
    "FERRARI ESPOSITO BIANCHI ROMANO COLOMBO RICCI MARINO GRECO BRUNO GALLO CONTI DE LUCA "
    "IVANOV SMIRNOV KUZNETSOV POPOV VASILIEV PETROV SOKOLOV MIKHAILOV NOVIKOV FEDOROV "
    "MOROZOV VOLKOV ALEKSEEV LEBEDEV SEMENOV EGOROV PAVLOV KOZLOV NOWAK KOWALSKI WISNIEWSKI "
    "WOJCIK KOWALCZYK KAMINSKI LEWANDOWSKI ZIELINSKI SZYMANSKI WOZNIAK JOHANSSON ANDERSSON "
    "KARLSSON NILSSON ERIKSSON LARSSON OLSSON PERSSON SVENSSON GUSTAFSSON HANSEN JENSEN "
    "NIELSEN PEDERSEN KHAN AHMED HUSSAIN RAHMAN ISLAM HOSSAIN ALI SHAH MALIK QURESHI "
    "CHAUDHRY BUTT SHEIKH HASSAN IBRAHIM MAHMOUD ABDALLAH SALEH NASSER HADDAD KHOURY "
    "MANSOUR HAMDAN AZIZ YILMAZ KAYA DEMIR SAHIN CELIK YILDIZ YILDIRIM OZTURK AYDIN OZDEMIR "
    "ARSLAN DOGAN KILIC TANAKA SUZUKI TAKAHASHI WATANABE ITO YAMAMOTO NAKAMURA KOBAYASHI "
    "WANG ZHANG LIU CHEN YANG HUANG ZHAO WU ZHOU XU SUN MA ZHU HU GUO HE LIN NGUYEN TRAN LE "
    "PHAM HOANG PHAN VU DANG BUI DO SINGH KUMAR SHARMA PATEL GUPTA REDDY RAO JOSHI MEHTA "
    "NAIR IYER OKAFOR OKONKWO ADEYEMI MENSAH BOATENG OWUSU DIALLO TRAORE KEITA COULIBALY "
    "NDIAYE MBEKI DLAMINI NKOSI SILVA SANTOS OLIVEIRA SOUZA PEREIRA COSTA RODRIGUES ALMEIDA "
    "NASCIMENTO LIMA ARAUJO FERREIRA CARVALHO GOMES MARTINS PAPADOPOULOS GEORGIOU "
    "NIKOLAIDIS HOVHANNISYAN GRIGORYAN BERIDZE KAPANADZE AHMADI HOSSEINI MOHAMMADI REZAEI "
    "KARIMI MORADI JAFARI BENALI BOUAZIZ TRABELSI HAMMAMI MEJRI COHEN LEVI MIZRAHI"
)

TRANSLITERATIONS = (
    ("MUHAMMAD", "MOHAMMED"), ("MOHAMMED", "MUHAMMAD"), ("MOHAMMAD", "MOHAMED"),
    ("MOHAMED", "MOHAMMAD"), ("YUSUF", "YOUSSEF"), ("YOUSEF", "YUSUF"), ("HUSSEIN", "HUSSAIN"),
    ("HUSAIN", "HUSSEIN"), ("OU", "U"), ("U", "OU"), ("Q", "K"), ("KH", "H"), ("DJ", "J"),
    ("J", "DJ"), ("SH", "CH"), ("EE", "I"), ("I", "EE"), ("AH", "A"), ("IYA", "IA"),
    ("AI", "AY"), ("EI", "AY"), ("Z", "DH"), ("DH", "Z"), ("TH", "T"), ("GH", "G"),
    ("W", "OU"), ("AA", "A"), ("RI", "LI"), ("YO", "JO"), ("E", "A"), ("O", "U"),
)  # fmt: skip
KEYBOARD = dict(zip("QWERTYUIOPASDFGHJKLZXCVBNM", "WERTYUIOPOSDFGHJKLKXCVBNMN", strict=True))


@dataclass(frozen=True)
class Variant:
    kind: str
    reference: str
    query: dict[str, str]


def listed_rows(path: Path | None = None) -> list[dict[str, str]]:
    """The UN list's individuals as NOMINAL rows (loaders/un_xml.py)."""
    path = path or UN_LIST / UN_FILE
    with open(path, "rb") as stream:
        return [row for _, row in read_un_rows(str(path), stream)]


def generated_persons(count: int, seed: int) -> Iterator[dict[str, str]]:
    """Persons with names drawn from the pools (a few common ones, a long tail)."""
    chance = random.Random(seed)
    given_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(GIVEN))]
    surname_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(SURNAMES))]
    for number in range(count):
        givens = chance.choices(GIVEN, given_weights, k=chance.choice((1, 1, 2)))
        surname = " ".join(chance.choices(SURNAMES, surname_weights, k=chance.choice((1, 1, 1, 2))))
        yield {
            "surname": surname,
            "given_names": " ".join(dict.fromkeys(givens)),
            "dob": _random_date(chance).isoformat(),
            "notice_type": chance.choice(("RED", "YELLOW", "BLUE", "GREEN")),
            "reference": f"GEN-{seed}-{number}",
        }


def _random_date(chance: random.Random, year: int | None = None) -> date:
    if year is None:
        year = chance.randint(1940, 2005)
    return date(year, 1, 1) + timedelta(days=chance.randrange(365))


def variants(row: dict[str, str], chance: random.Random) -> list[Variant]:
    """One query of each kind for a listed person (those that change the name)."""
    tokens = f"{row.get('given_names', '')} {row['surname']}".replace("-", " ").split()
    tokens = [token.strip("'").upper() for token in tokens if token.strip("'")]
    dob = _query_dob(row.get("dob", ""), chance)
    made = {
        "transliteration": _transliterated(tokens, chance),
        "order": tokens[::-1] if len(tokens) > 1 else None,
        "missing particles": [t for t in tokens if t not in PARTICLES],
        "typo": _typo(tokens, chance),
    }
    found = []
    for kind, changed in made.items():
        if changed and changed != tokens:
            query = {"db": "NOMINAL", "surname": changed[-1], "given_names": " ".join(changed[:-1])}
            if dob:
                query["dob"] = dob
            found.append(Variant(kind, row["reference"], query))
    return found


def _query_dob(value: str, chance: random.Random) -> str:
    dates = parse_birth_dates(value) if value else ()
    if not dates:
        return _random_date(chance).isoformat()
    first = dates[0]
    if first.day is not None and first.month is not None and not first.approximate:
        return f"{first.year:04d}-{first.month:02d}-{first.day:02d}"
    return _random_date(chance, chance.choice(list(first.years()))).isoformat()


def _transliterated(tokens: list[str], chance: random.Random) -> list[str] | None:
    for _ in range(20):
        index = chance.randrange(len(tokens))
        if tokens[index] in PARTICLES:
            continue
        rules = [(a, b) for a, b in TRANSLITERATIONS if a in tokens[index]]
        if rules:
            old, new = chance.choice(rules)
            changed = list(tokens)
            changed[index] = tokens[index].replace(old, new, 1)
            return changed
    return None


def _typo(tokens: list[str], chance: random.Random) -> list[str] | None:
    long = [i for i, token in enumerate(tokens) if len(token) >= 4 and token.isalpha()]
    if not long:
        return None
    index = chance.choice(long)
    word = tokens[index]
    at = chance.randrange(1, len(word) - 1)
    edit = chance.choice(("drop", "double", "swap", "neighbour"))
    if edit == "drop":
        word = word[:at] + word[at + 1 :]
    elif edit == "double":
        word = word[:at] + word[at] + word[at:]
    elif edit == "swap":
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    else:
        word = word[:at] + KEYBOARD.get(word[at], word[at]) + word[at + 1 :]
    changed = list(tokens)
    changed[index] = word
    return changed


def travellers(count: int, seed: int, listed: set[str]) -> list[dict[str, str]]:
    """Queries for people who are not listed (names from the generated pools)."""
    found = []
    for person in generated_persons(count * 2, seed):
        name = f"{person['given_names']} {person['surname']}"
        if name in listed:
            continue
        found.append({"db": "NOMINAL", "surname": person["surname"],
                      "given_names": person["given_names"], "dob": person["dob"]})  # fmt: skip
        if len(found) == count:
            break
    return found


def write_upload(path: Path, persons: int, listed: list[dict[str, str]]) -> None:
    """The UN individuals, then generated persons up to `persons` in all, as JSON lines."""
    with open(path, "wb") as out:
        for row in listed:
            out.write(orjson.dumps(row) + b"\n")
        for row in generated_persons(max(0, persons - len(listed)), seed=11):
            out.write(orjson.dumps(row) + b"\n")


@dataclass
class Measured:
    recall: dict[str, tuple[int, int]]
    false_positives: int
    same_name_and_date: int
    """False positives whose record has every token of the traveller's name, exactly, and
    the same date of birth (or its day and month swapped): no name matcher can tell them
    apart; a synthetic population of a million over 66 years of birth dates makes them."""
    travellers: int
    queries: int
    seconds: float

    def lines(self) -> list[str]:
        found = sum(hit for hit, _ in self.recall.values())
        total = sum(count for _, count in self.recall.values())
        rows = [f"recall on spelling variants   {found / max(total, 1):.3f}  ({found}/{total})"]
        rows += [
            f"  {kind:<27} {hit / max(count, 1):.3f}  ({hit}/{count})"
            for kind, (hit, count) in self.recall.items()
        ]
        rate = self.false_positives / max(self.travellers, 1)
        rows.append(
            f"false positives               {rate * 1000:.2f} per 1,000"
            f"  ({self.false_positives}/{self.travellers})"
        )
        other = (self.false_positives - self.same_name_and_date) / max(self.travellers, 1)
        rows.append(
            f"  of which same names and birth date {self.same_name_and_date}"
            f"  (the others: {other * 1000:.2f} per 1,000)"
        )
        rows.append(
            f"name queries/s (one core)     {self.queries / self.seconds:,.0f}"
            f"  ({self.queries:,} queries, one at a time, per CPU-second)"
        )
        return rows


def measure(data: object, queries: list[Variant], strangers: list[dict[str, str]]) -> Measured:
    """Screen every query alone, as a terminal does; recall, false positives, throughput."""
    screen = data.screen  # type: ignore[attr-defined]
    recall: dict[str, tuple[int, int]] = {}
    started = time.process_time()  # CPU time: the machine is shared, wall time is not ours
    for variant in queries:
        result = screen([variant.query])[0]
        found = any(
            match["record"].get("reference") == variant.reference and match["score"] >= 0.85
            for match in result.get("matches", ())
        )
        hit, count = recall.get(variant.kind, (0, 0))
        recall[variant.kind] = (hit + found, count + 1)
    hits = [screen([query])[0] for query in strangers]
    seconds = time.process_time() - started
    false = [result for result in hits if result.get("hit")]
    same = sum(_indistinguishable(result["matches"][0]) for result in false)
    count = len(queries) + len(strangers)
    return Measured(recall, len(false), same, len(strangers), count, seconds)


def _indistinguishable(match: dict[str, Any]) -> bool:
    reasons = match.get("reasons", {})
    tokens = reasons.get("tokens", [])
    exact = bool(tokens) and all(token.get("how") == "exact" for token in tokens)
    return exact and reasons.get("dob") in ("exact", "approximate")


def main(persons: int, work: Path, travellers_count: int = 10_000) -> int:
    """Load N persons (UN list + generated), screen variants and travellers, print."""
    from loaders.load import load
    from loaders.readers import Upload
    from screening.data import open_data

    work.mkdir(parents=True, exist_ok=True)
    listed = listed_rows()
    upload = work / f"nominal-{persons}.jsonl"
    data_dir = work / f"nominal-data-{persons}-keys{KEY_SCHEME}"
    if not (data_dir / "NOMINAL" / "MANIFEST").exists():
        write_upload(upload, persons, listed)
        started = time.perf_counter()
        load(data_dir, "NOMINAL", "UTO", [Upload.of(str(upload))])
        print(f"loaded {persons:,} persons in {time.perf_counter() - started:.0f} s")
    chance = random.Random(5)
    queries = [variant for row in listed for variant in variants(row, chance)]
    names = {f"{row.get('given_names', '')} {row['surname']}".strip() for row in listed}
    strangers = travellers(travellers_count, seed=99, listed=names)
    data = open_data(data_dir)
    for snapshot in data.snapshots.values():
        snapshot.warm()
    measured = measure(data, queries, strangers)
    print(f"NOMINAL name matching at {persons:,} persons (targets: recall >= 0.95, "
          "false positives < 1 per 1,000, >= 5,000 queries/s)")  # fmt: skip
    for line in measured.lines():
        print("  " + line)
    return 0
