"""The `vector` matcher through the real loader, `open_data` and the HTTP service:
AFIS templates by cosine, ICSE perceptual hashes by Hamming distance.

Templates are random unit vectors (unrelated ones have cosine ~0 at 256 dimensions); a
query "of" record n is its template plus noise, at a known cosine to it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loaders.biometrics import template_text
from loaders.catalog import AFIS_DIMENSION
from loaders.load import load
from loaders.readers import Upload
from screening import open_data
from screening.data import Data
from screening.keys import add_key
from screening.settings import KEYS_FILE_NAME
from screening.testing import MakeClient

COUNT = 40
RESTRICTED = 7  # visible to GBR (and its owner, FRA) only
HASHES = [f"{(0x0123456789ABCDEF * (n + 1)) % 2**64:016x}" for n in range(20)]


def templates() -> np.ndarray:
    rows = np.random.default_rng(11).standard_normal((COUNT, AFIS_DIMENSION))
    normed: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normed


def near(row: np.ndarray, cosine: float, seed: int) -> list[float]:
    other = np.random.default_rng(seed).standard_normal(len(row))
    other -= other @ row * row
    other /= np.linalg.norm(other)
    moved: list[float] = (cosine * row + math.sqrt(1 - cosine**2) * other).tolist()
    return moved


def write_upload(folder: Path, name: str, text: str) -> Upload:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return Upload.of(str(path))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vectors")
    data = folder / "data"
    rows = "".join(
        f"{template_text(row.tolist())},right_index,R{n},P{n // 2},"
        f"{'GBR' if n == RESTRICTED else ''}\n"
        for n, row in enumerate(templates())
    )
    afis = "template,finger,reference,person_ref,visible_to\n" + rows
    result = load(data, "AFIS", "FRA", [write_upload(folder, "afis.csv", afis)])
    assert result.rejected == 0, result.summary()
    icse = "sha256,phash,series\n" + "".join(
        f"{n:064x},{value},S{n}\n" for n, value in enumerate(HASHES)
    )
    result = load(data, "ICSE", "FRA", [write_upload(folder, "icse.csv", icse)])
    assert result.rejected == 0, result.summary()
    return data


@pytest.fixture
def data(loaded: Path) -> Iterator[Data]:
    opened = open_data(loaded)
    yield opened
    opened.close()


def afis(template: object) -> dict[str, object]:
    return {"db": "AFIS", "template": template}


def references(result: dict[str, Any]) -> list[str]:
    return [match["record"]["reference"] for match in result["matches"]]


def test_a_template_finds_its_record_with_its_cosine(data: Data) -> None:
    rows = templates()
    [result] = data.screen([afis(near(rows[3], 0.95, 1))], country="FRA")
    assert result["hit"] is True
    [match] = result["matches"]
    assert match["match"] == "similar" and match["id"] == "AFIS/R3/FRA"
    assert match["score"] == pytest.approx(0.95, abs=1e-4)
    assert match["record"] == {
        "finger": "right_index", "reference": "R3", "person_ref": "P1", "owner": "FRA"
    }  # fmt: skip


def test_below_the_threshold_is_no_match(data: Data) -> None:
    rows = templates()
    [result] = data.screen([afis(near(rows[3], 0.85, 2))], country="FRA")
    assert result == {"hit": False, "matches": []}


def test_a_restricted_template_only_for_its_viewers(data: Data) -> None:
    query = afis(near(templates()[RESTRICTED], 0.97, 3))
    assert references(data.screen([query], country="GBR")[0]) == [f"R{RESTRICTED}"]
    assert references(data.screen([query], country="FRA")[0]) == [f"R{RESTRICTED}"]
    assert data.screen([query], country="ESP")[0] == {"hit": False, "matches": []}
    assert data.screen([query])[0] == {"hit": False, "matches": []}


def test_a_batch_answers_like_single_queries(data: Data) -> None:
    rows = templates()
    queries: list[object] = [afis(near(rows[n], 0.93, n)) for n in range(0, COUNT, 5)]
    queries += [afis(np.random.default_rng(5).standard_normal(AFIS_DIMENSION).tolist())]
    queries += [{"db": "ICSE", "phash": HASHES[4]}]
    batch = data.screen(queries, country="FRA")
    assert batch == [data.screen([query], country="FRA")[0] for query in queries]
    assert [references(result) for result in batch[:-2]] == [[f"R{n}"] for n in range(0, COUNT, 5)]


def test_bad_templates_are_refused_with_the_field(data: Data) -> None:
    short, words, zero = afis([0.5, 0.5]), afis(["a"] * AFIS_DIMENSION), afis([0.0] * 256)
    results = data.screen([short, words, zero, afis(near(templates()[1], 0.99, 9))])
    assert [r.get("error", {}).get("code") for r in results] == [
        "bad_query", "bad_query", "bad_query", None
    ]  # fmt: skip
    assert results[0]["error"]["message"].startswith("queries[0].template: has 2 numbers")
    assert "queries[2].template" in results[2]["error"]["message"]


def test_a_tiny_template_is_refused_alone_not_its_batch(data: Data) -> None:
    """1e-46 is 0 in float32: no direction. Only that query is refused."""
    good = afis(near(templates()[2], 0.99, 8))
    tiny, answer = data.screen([afis([1e-46] * AFIS_DIMENSION), good], country="FRA")
    assert tiny["error"]["code"] == "bad_query"
    assert "queries[0].template" in tiny["error"]["message"]
    assert references(answer) == ["R2"]


def test_a_phash_within_six_bits_is_similar_with_its_distance(data: Data) -> None:
    flipped = f"{int(HASHES[2], 16) ^ 0b1011:016x}"
    [result] = data.screen([{"db": "ICSE", "phash": flipped}], country="FRA")
    assert result["hit"] is True
    [match] = result["matches"]
    assert match["match"] == "similar" and match["distance"] == 3
    assert match["score"] == pytest.approx(1 - 3 / 64)
    assert match["record"]["phash"] == HASHES[2]
    seven = f"{int(HASHES[2], 16) ^ 0b1111111:016x}"
    assert data.screen([{"db": "ICSE", "phash": seven}])[0] == {"hit": False, "matches": []}


def test_icse_by_digest_stays_exact(data: Data) -> None:
    [result] = data.screen([{"db": "ICSE", "sha256": f"{2:064x}", "phash": HASHES[9]}])
    assert [(m["match"], m["record"]["series"]) for m in result["matches"]] == [("exact", "S2")]


def test_over_http(loaded: Path, make_client: MakeClient) -> None:
    key, _ = add_key(loaded / KEYS_FILE_NAME, "gate", "FRA", "frontline")
    client = make_client(data=loaded)
    body = {"queries": [afis(near(templates()[11], 0.96, 4)), {"db": "ICSE", "phash": HASHES[0]}]}
    reply = client.request("POST", "/v1/screen", key=key, json=body)
    assert reply.status == 200, reply
    first, second = reply.body["results"]
    assert references(first) == ["R11"] and first["hit"] is True
    assert second["matches"][0]["distance"] == 0 and second["matches"][0]["score"] == 1.0
