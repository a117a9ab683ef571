"""DNA profiles as lookup keys: one key per typed STR locus, naming its genotype.

The `profile` matcher counts, per stored profile, the loci at which it agrees with the
query. A locus agrees when both show the same alleles there: both alleles of a
heterozygote (15/17 agrees with 15/17 only, not with 15/15 or 15/16), the one allele of a
homozygote. So each record carries one key per locus naming its whole genotype,
`allele:D3S1358:15/17` (alleles as `loaders.biometrics.loci` stores them: sorted, distinct,
joined by `/`), and one probe per query locus finds every record that agrees there; the
hashed index becomes an inverted index (FORMAT.md's engine is unchanged). Amelogenin (sex)
is not an STR locus and is never counted. A partial profile simply has fewer keys: it can
agree at fewer loci.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loaders.biometrics import AMELOGENIN

GENOTYPE_PREFIX = "allele:"


def genotype_key(locus: str, alleles: Sequence[str]) -> bytes:
    """The key of one locus's genotype, e.g. b"allele:TH01:6/9.3"."""
    return f"{GENOTYPE_PREFIX}{locus}:{'/'.join(alleles)}".encode()


def genotype_keys(loci: Mapping[str, Sequence[str]]) -> tuple[bytes, ...]:
    """One key per STR locus of a stored (normalised) profile, in locus order."""
    return tuple(
        genotype_key(locus, alleles) for locus, alleles in loci.items() if locus != AMELOGENIN
    )


def allele_keys(values: Mapping[str, object]) -> tuple[bytes, ...]:
    """The DNA database's `index_keys` hook: the genotype keys of a record's `loci`."""
    loci = values.get("loci")
    if not isinstance(loci, Mapping):
        return ()
    return genotype_keys(loci)


def str_loci(loci: Mapping[str, Sequence[str]]) -> list[str]:
    """The loci of a profile that count (every one but amelogenin)."""
    return [locus for locus in loci if locus != AMELOGENIN]
