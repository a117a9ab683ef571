"""AFIS, FACE and DNA: templates as unit vectors, and STR profiles at the CODIS loci.

A template is what a feature extractor outputs, a direction in its space; the synthetic
ones are random directions, with some records of one person (several fingers, several
photos) close to each other. DNA alleles are drawn around each locus's common repeats,
with the microvariants that occur (TH01 9.3, D21S11 x.2 ...), and crime-scene profiles
partial.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from datetime import date

import numpy as np

from loaders.biometrics import AMELOGENIN, F32_PREFIX, STR_LOCI
from loaders.catalog import AFIS_DIMENSION, DNA_KINDS, FACE_DIMENSION, FINGERS
from loaders.generators.common import CHUNK_ROWS, STATES, Columns, visible_to

AFIS_FIELDS = ("template", "finger", "reference", "person_ref", "visible_to")
FACE_FIELDS = ("template", "reference", "person_ref", "visible_to")
DNA_FIELDS = ("loci", "reference", "kind", "visible_to")

CODIS_CORE = (
    "CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51",
    "D21S11", "FGA", "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248",
    "D12S391", "D19S433", "D22S1045",
)  # fmt: skip
# The most common repeat at each locus and how spread the alleles are around it.
MODES = {
    "CSF1PO": (11, 1.1), "D3S1358": (15, 1.1), "D5S818": (11.5, 1.2), "D7S820": (10, 1.2),
    "D8S1179": (13, 1.4), "D13S317": (11, 1.4), "D16S539": (11, 1.2), "D18S51": (15, 2.3),
    "D21S11": (30, 1.6), "FGA": (22, 2.0), "TH01": (7.5, 1.3), "TPOX": (8.8, 1.0),
    "vWA": (17, 1.3), "D1S1656": (14.5, 1.8), "D2S441": (12, 1.4), "D2S1338": (20, 2.3),
    "D10S1248": (14, 1.3), "D12S391": (19.5, 1.8), "D19S433": (14, 1.3), "D22S1045": (15.5, 1.4),
}  # fmt: skip
MICROVARIANTS = {"TH01": ("9.3", 0.25), "D21S11": (".2", 0.15), "FGA": (".2", 0.08),
                 "D18S51": (".2", 0.05), "D1S1656": (".3", 0.2), "D12S391": (".3", 0.1),
                 "D19S433": (".2", 0.12), "D2S441": ("11.3", 0.05)}  # fmt: skip
DNA_KIND_WEIGHTS = (0.7, 0.2, 0.07, 0.03)
SAME_PERSON_SHARE = 0.3  # records that are another capture of the previous record's person


def _template_chunks(
    records: int, seed: int, dimension: int, name: str, with_finger: bool
) -> Iterator[Columns]:
    """Chunks of templates drawn as matrices: a new person's a random direction, another
    capture a small perturbation of the last new person's (numpy, not a row at a time)."""
    generator = np.random.default_rng(seed)
    rng = random.Random(f"{name}:{seed}")
    for start in range(0, records, CHUNK_ROWS):
        count = min(CHUNK_ROWS, records - start)
        vectors = generator.normal(0, 1, (count, dimension)).astype(np.float32)
        same = generator.random(count) < SAME_PERSON_SHARE
        same[0] = False
        person_row = np.maximum.accumulate(np.where(same, 0, np.arange(count)))
        noise = 0.25 / np.sqrt(dimension) * np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors[same] = vectors[person_row[same]] + noise[same] * generator.normal(
            0, 1, (int(same.sum()), dimension)
        ).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        people = [f"P-{STATES.draw(rng)}-{start + row:08d}" for row in person_row.tolist()]
        columns = [[F32_PREFIX + base64.b64encode(row.astype("<f4").tobytes()).decode()
                    for row in vectors]]  # fmt: skip
        if with_finger:
            columns.append([rng.choice(FINGERS[:10]) for _ in range(count)])
        columns.append([f"{name}-{start + row:09d}" for row in range(count)])
        columns.append(people)
        columns.append([visible_to(rng) for _ in range(count)])
        yield columns


def afis_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    del today
    return _template_chunks(records, seed, AFIS_DIMENSION, "AFIS", True)


def face_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    del today
    return _template_chunks(records, seed, FACE_DIMENSION, "FACE", False)


def dna_chunks(records: int, seed: int, today: date) -> Iterator[Columns]:
    """Profiles drawn a locus at a time for a whole chunk (numpy), then written out."""
    del today
    generator = np.random.default_rng(seed)
    rng = random.Random(f"DNA:{seed}")
    for start in range(0, records, CHUNK_ROWS):
        count = min(CHUNK_ROWS, records - start)
        kinds = rng.choices(DNA_KINDS, DNA_KIND_WEIGHTS, k=count)
        typed = {locus: _genotypes(generator, locus, count) for locus in CODIS_CORE}
        partial = np.array([kind == "crime_scene" for kind in kinds])
        kept = generator.random((count, len(CODIS_CORE))) < generator.uniform(0.4, 0.8, (count, 1))
        kept |= ~partial[:, None]
        males = generator.random(count) < 0.5
        order = sorted([*CODIS_CORE, AMELOGENIN])
        texts = []
        for row in range(count):
            parts = []
            for locus in order:
                if locus == AMELOGENIN:
                    parts.append("AMEL:X/Y" if males[row] else "AMEL:X")
                elif kept[row, CODIS_INDEX[locus]]:
                    parts.append(f"{locus}:{typed[locus][row]}")
            texts.append(";".join(parts))
        yield [
            texts,
            [f"DNA-{STATES.draw(rng)}-{start + row:09d}" for row in range(count)],
            kinds,
            [visible_to(rng) for _ in range(count)],
        ]


CODIS_INDEX = {locus: index for index, locus in enumerate(CODIS_CORE)}


def _genotypes(generator: np.random.Generator, locus: str, count: int) -> list[str]:
    """`count` genotypes at `locus` as stored text: two alleles drawn around the common
    repeats, a microvariant now and then, sorted, a homozygote written once."""
    mode, spread = MODES[locus]
    low, high = STR_LOCI[locus]
    repeats = np.clip(np.rint(generator.normal(mode, spread, (count, 2))), low, high - 1)
    alleles = [[str(int(value)) for value in pair] for pair in repeats.tolist()]
    variant = MICROVARIANTS.get(locus)
    if variant:
        for row, column in zip(*np.nonzero(generator.random((count, 2)) < variant[1]), strict=True):
            whole = alleles[row][column]
            alleles[row][column] = (
                variant[0] if not variant[0].startswith(".") else whole + variant[0]
            )
    return ["/".join(sorted(set(pair), key=float)) for pair in alleles]
