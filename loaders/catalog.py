"""The catalog: every database of shared/DATABASES.md declared once.

The loader (what a row must hold), the screening path (how a query is keyed and matched),
`/v1/databases` and the docs all read this table, so a 20th database is a declaration
(and perhaps a normaliser), not new plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loaders import normalise

Normaliser = Callable[[str], object]

SLTD_STATUSES = ("stolen", "lost", "revoked", "invalidated", "stolen_blank")
NOTICE_TYPES = ("RED", "YELLOW", "BLUE", "BLACK", "GREEN", "ORANGE", "PURPLE")
UPSERT, DELETE = "upsert", "delete"
IDENTITY_SEPARATOR = b"\x1f"


@dataclass(frozen=True)
class Field:
    name: str
    normaliser: Normaliser = normalise.text
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Database:
    """One database: its fields, which of them key it, how it matches.

    key: the fields that must all be equal for an `exact` match, in order; the first is
    the primary lookup key that the hashed index is built on (SLTD: number, then the
    issuing state, so the same number of another state is still found as `number_only`).
    """

    code: str
    name: str
    matcher: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    loadable: bool = False
    threshold: float = 1.0
    weaker_match: str | None = None
    by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)

    required: tuple[str, ...] = field(init=False, repr=False, compare=False)
    record_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The order of a stored record's values (then owner, visible_to, extras)."""

    @property
    def screenable(self) -> bool:
        """Whether this build answers queries for it (so far: loadable exact databases)."""
        return self.loadable and self.matcher == "exact"

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "required", tuple(f.name for f in self.fields if f.required))
        object.__setattr__(self, "record_fields", tuple(f.name for f in self.fields))


def _plain(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name) for name in names)


# The travel-document fields SLTD and TDAWN share: one definition, one normaliser each.
DOCUMENT_NUMBER = Field("number", normalise.document_number, True, "document number as printed")
ISSUING_STATE = Field("country", normalise.state, True, "issuing state, ICAO 9303 code")
DOCUMENT_TYPE = Field("type", normalise.document_type, False, "MRZ document code: P, I, A, C, V")
REPORTED_ON = Field("reported_on", normalise.past_date, False, "ISO date of the report")

SLTD = Database(
    code="SLTD",
    name="Stolen and Lost Travel Documents",
    matcher="exact",
    key=("number", "country"),
    loadable=True,
    weaker_match="number_only",
    fields=(
        DOCUMENT_NUMBER,
        ISSUING_STATE,
        DOCUMENT_TYPE,
        Field("status", normalise.choice(SLTD_STATUSES), True, "; ".join(SLTD_STATUSES)),
        REPORTED_ON,
        Field("issued_on", normalise.iso_date),
        Field("expires_on", normalise.iso_date),
        Field("stolen_on", normalise.past_date),
        Field("review_on", normalise.iso_date),
        Field("national_ref", normalise.text),
    ),
)

TDAWN = Database(
    code="TDAWN",
    name="Travel Documents Associated With Notices",
    matcher="exact",
    key=("number", "country"),
    loadable=True,
    weaker_match="number_only",
    fields=(
        DOCUMENT_NUMBER,
        ISSUING_STATE,
        DOCUMENT_TYPE,
        Field("notice", normalise.text, True, "the notice's reference"),
        Field("notice_type", normalise.choice(NOTICE_TYPES, upper=True), False,
              "; ".join(NOTICE_TYPES) + " (any case; stored upper case)"),
        REPORTED_ON,
    ),
)  # fmt: skip

_OTHERS = (
    Database("SAD", "Stolen Administrative Documents", "exact",
             ("number", "country", "doc_kind"), _plain("number", "country", "doc_kind", "status")),
    Database("NOMINAL", "Persons: wanted, missing, dead unidentified, under UN sanctions", "name",
             ("surname", "given_names"),
             _plain("surname", "given_names", "dob", "nationality", "sex", "aliases",
                    "notice_type", "reference"), threshold=0.85),
    Database("AFIS", "Fingerprints", "vector", ("template",),
             _plain("template", "finger", "reference", "person_ref"), threshold=0.9),
    Database("FACE", "Facial images", "vector", ("template",),
             _plain("template", "reference", "person_ref"), threshold=0.9),
    Database("DNA", "DNA profiles", "profile", ("loci",),
             _plain("loci", "reference", "kind"), threshold=13),
    Database("SMV", "Stolen Motor Vehicles", "exact", ("vin",),
             _plain("vin", "plate", "country", "make", "model", "colour", "status")),
    Database("VESSELS", "Stolen vessels and boats", "exact", ("hin",),
             _plain("hin", "imo", "name", "flag", "make")),
    Database("WOA", "Stolen Works of Art", "exact", ("object_id",),
             _plain("object_id", "title", "artist", "category", "country")),
    Database("IARMS", "Illicit Arms Records", "exact", ("serial", "make"),
             _plain("serial", "make", "model", "calibre", "status")),
    Database("IFRT", "Firearms Reference Table", "exact", ("make", "model"),
             _plain("make", "model", "calibre", "type", "country_of_origin")),
    Database("IBIN", "Ballistic Information Network", "exact", ("exhibit_id",),
             _plain("exhibit_id", "calibre", "make", "case_ref", "country")),
    Database("ICSE", "Child sexual exploitation material (hash sets only)", "exact", ("sha256",),
             _plain("sha256", "md5", "phash", "series", "victim_identified")),
    Database("DIALDOC", "Counterfeit document alerts", "exact",
             ("country", "doc_kind", "series"),
             _plain("country", "doc_kind", "series", "alert", "features")),
    Database("EDISON", "Genuine travel document models", "exact",
             ("country", "doc_kind", "series"),
             _plain("country", "doc_kind", "series", "valid_from", "valid_to", "features")),
    Database("COUNTERFEIT", "Counterfeit currency and security documents", "exact",
             ("currency", "denomination", "serial"),
             _plain("currency", "denomination", "serial", "series", "first_seen")),
    Database("PIRACY", "Maritime piracy", "exact", ("imo",),
             _plain("imo", "name", "incident", "date", "area")),
    Database("GEIGER", "Radiological and nuclear materials out of regulatory control", "exact",
             ("serial",), _plain("serial", "isotope", "activity", "status")),
)  # fmt: skip

DATABASES: Mapping[str, Database] = {db.code: db for db in (SLTD, TDAWN, *_OTHERS)}


class UnknownDatabaseError(ValueError):
    pass


def database(code: str) -> Database:
    """The catalog entry for a code, case-insensitive; the message lists the valid codes."""
    try:
        return DATABASES[code.strip().upper()]
    except KeyError:
        raise UnknownDatabaseError(
            f"unknown database {code!r}: one of {', '.join(DATABASES)}"
        ) from None


def identity(db: Database, values: Mapping[str, object], owner: str) -> bytes:
    """Two rows with this same identity are the same record: the later one replaces it.

    The key fields plus the owner: the same passport reported by two NCBs is two records,
    and one NCB can withdraw only its own.
    """
    return "\x1f".join([*(str(values[name]) for name in db.key), owner]).encode()


def record_id(db: Database, identity_bytes: bytes) -> str:
    """The `id` a terminal sees: readable and stable across compactions.

    For example SLTD/L898902C3/UTO/UTO: database, number, issuing state, owner.
    """
    return "/".join([db.code, *identity_bytes.decode().split("\x1f")])
