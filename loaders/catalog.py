"""The catalog: every database of shared/DATABASES.md declared once.

The loader (what a row must hold, how a record is keyed and identified), the screening
path (which matcher answers a query, by which fields), `/v1/databases`, the OpenAPI
document and the docs all read this table, so a 20th database is a declaration (and
perhaps a normaliser), not new plumbing. /work/coord/INTERFACE.md (and README.md) say how
the name, vector and profile matchers plug in.

Identity (what a later upsert or a delete replaces) is, for every database: the values of
`identity_fields` if declared, else of the FIRST lookup whose fields the record has (its
name first when the database has several), then the owner. So an SMV record with a VIN is
that VIN's record, whatever its plate, and re-uploading it with a new plate replaces it; a
record without a VIN is identified by plate + country. The record's primary key (the
first of its lookup keys) is that same lookup's key, so it follows from the identity, as
the engine requires (indexes/writer.py withdraws older copies by primary key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loaders import biometrics, digests, maritime, normalise, vehicles
from loaders.birth_dates import normalise_birth_dates
from loaders.currencies import currency
from loaders.isotopes import isotope
from loaders.names import PERSON_KEY_SCHEME, object_index_keys, person_index_keys
from loaders.profile_keys import allele_keys

Normaliser = Callable[[str], object]
IndexKeys = Callable[[Mapping[str, object]], Sequence[bytes]]
"""Normalised values of one record -> extra lookup keys, each prefixed by its kind
(`token:`, `phon:`, `allele:`); the name and profile matchers search by them."""
VectorOf = Callable[[Mapping[str, object]], Any]
"""Normalised values of one record -> its vector for the segment's vector column, or None."""

SLTD_STATUSES = ("stolen", "lost", "revoked", "invalidated", "stolen_blank")
NOTICE_TYPES = ("RED", "YELLOW", "BLUE", "BLACK", "GREEN", "ORANGE", "PURPLE")
PERSON_NOTICE_TYPES = (*NOTICE_TYPES, "UNSC")
UPSERT, DELETE = "upsert", "delete"
IDENTITY_SEPARATOR = b"\x1f"
MATCHERS = ("exact", "name", "vector", "profile")


@dataclass(frozen=True)
class Field:
    name: str
    normaliser: Normaliser = normalise.text
    required: bool = False
    doc: str = ""
    stored: bool = True
    """False: not kept in the record store (a template lives in the vector column only)."""


@dataclass(frozen=True)
class Lookup:
    """One way to find a record by exact equality of some fields.

    probe: how many leading fields are hashed into the index key; the others are then
    compared on each record found (SLTD probes by number only, so the same number issued
    by another state is found too, as `number_only`).
    """

    name: str
    fields: tuple[str, ...]
    probe: int = 0
    partial: bool = False
    """Usable when its first field is present; absent others count as empty (NOMINAL's
    surname + given names + date of birth identifies a person known by surname only)."""
    needs: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The fields that must be given for this lookup to be used."""

    def __post_init__(self) -> None:
        if not 0 < (self.probe or len(self.fields)) <= len(self.fields):
            raise ValueError(f"lookup {self.name}: probe must be 1..{len(self.fields)}")
        object.__setattr__(self, "probe", self.probe or len(self.fields))
        object.__setattr__(self, "needs", self.fields[:1] if self.partial else self.fields)

    def present(self, values: Mapping[str, object]) -> bool:
        """Whether `values` hold what this lookup needs."""
        for name in self.needs:
            value = values.get(name)
            if value is None or value == "":
                return False
        return True


@dataclass(frozen=True)
class Database:
    """One database: its fields, how its records are keyed and identified, how it matches.

    `matcher` is "exact", "name", "vector", "profile", or several joined by `+` in
    dispatch order ("exact+name": a query with a lookup's fields is matched exactly, one
    with only a name by the name matcher). `key` is the first lookup's fields; give
    `lookups` for a database found by several (SMV: vin, or plate + country).
    """

    code: str
    name: str
    matcher: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    loadable: bool = True
    threshold: float = 1.0
    weaker_match: str | None = None
    lookups: tuple[Lookup, ...] = ()
    identity_fields: tuple[str, ...] = ()
    index_keys: IndexKeys | None = None
    key_scheme: str | None = None
    """How `index_keys` keys a record, when a reader must know (FORMAT.md, `key_scheme`)."""
    vector_of: VectorOf | None = None
    name_fields: tuple[str, ...] = ()
    name_query: tuple[str, ...] = ()
    """The name fields a query gives (default: name_fields; NOMINAL: surname, given names)."""
    query_extra: tuple[str, ...] = ()
    """Fields a query may give besides lookups and names (a person's dob, a template)."""
    doc: str = ""

    by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)
    required: tuple[str, ...] = field(init=False, repr=False, compare=False)
    record_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The order of a stored record's values (then owner, visible_to, extras)."""
    field_names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    matchers: tuple[str, ...] = field(init=False, repr=False, compare=False)
    prefixed: bool = field(init=False, repr=False, compare=False)
    """Whether lookup keys carry their lookup's name (several lookups, or other keys)."""

    def __post_init__(self) -> None:
        lookups = self.lookups or (
            Lookup(self.key[0], self.key, 1 if self.weaker_match else len(self.key)),
        )
        setattr_ = object.__setattr__
        setattr_(self, "lookups", lookups)
        setattr_(self, "key", lookups[0].fields)
        setattr_(self, "by_name", {f.name: f for f in self.fields})
        setattr_(self, "required", tuple(f.name for f in self.fields if f.required))
        setattr_(self, "record_fields", tuple(f.name for f in self.fields if f.stored))
        setattr_(self, "field_names", tuple(f.name for f in self.fields))
        setattr_(self, "matchers", tuple(self.matcher.split("+")))
        setattr_(self, "prefixed", len(lookups) > 1 or self.index_keys is not None)
        self._check()

    def _check(self) -> None:
        unknown = [m for m in self.matchers if m not in MATCHERS]
        named = {name for lookup in self.lookups for name in lookup.fields}
        named |= {*self.identity_fields, *self.name_fields}
        missing = named - set(self.by_name)
        if unknown or missing:
            raise ValueError(f"{self.code}: unknown matcher {unknown} or fields {missing}")
        first = self.lookups[0].fields
        if self.identity_fields and not set(first) <= set(self.identity_fields):
            raise ValueError(f"{self.code}: identity_fields must hold the first lookup's")

    @property
    def query_fields(self) -> tuple[str, ...]:
        """Every field a query of this database may give, for the docs and OpenAPI."""
        names = [name for lookup in self.lookups for name in lookup.fields]
        names = names if "exact" in self.matchers else []
        named = self.name_query or self.name_fields
        return tuple(dict.fromkeys([*names, *named, *self.query_extra]))

    @property
    def indexed_lookups(self) -> tuple[Lookup, ...]:
        """The lookups every record is indexed under: all of them where this database is
        matched exactly, else only the one identifying it (its primary key)."""
        return self.lookups if "exact" in self.matchers else self.lookups[:1]

    def lookup_for(self, values: Mapping[str, object]) -> Lookup | None:
        """The first lookup whose fields `values` have (a query's, or a record's)."""
        for lookup in self.lookups:
            if lookup.present(values):
                return lookup
        return None

    def lookup_key(self, lookup: Lookup, values: Mapping[str, object]) -> bytes:
        """The hashed index key of `values` under `lookup` (see INTERFACE.md)."""
        return self.probe_key(lookup, [values.get(name) for name in lookup.fields[: lookup.probe]])

    def probe_key(self, lookup: Lookup, values: Sequence[object]) -> bytes:
        """`lookup_key` of values in `lookup.fields` order (a parsed query's), no dict
        built: a screening query pays this on every request."""
        if lookup.probe == 1:
            probed = _text(values[0])
        else:
            probed = b"\x1f".join([_text(value) for value in values[: lookup.probe]])
        return lookup.name.encode() + b":" + probed if self.prefixed else probed


def lookup_names(db: Database) -> str:
    """`vin, or plate and country`: what identifies a record of `db`, for messages."""
    return ", or ".join(" and ".join(lookup.needs) for lookup in db.lookups)


def _text(value: object) -> bytes:
    return b"" if value is None else str(value).encode()


def _plain(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name) for name in names)


def _template_vector(values: Mapping[str, object]) -> Any:
    """A template as the float32 row of the vector column."""
    import numpy as np

    template = values.get("template")
    return None if template is None else np.asarray(template, dtype=np.float32)


def _phash_vector(values: Mapping[str, object]) -> Any:
    """A 64-bit perceptual hash as one uint64 word (a Hamming column, indexes/vectors.py)."""
    import numpy as np

    phash = values.get("phash")
    return None if phash is None else np.array([int(str(phash), 16)], dtype=np.uint64)


# The travel-document fields SLTD and TDAWN share: one definition, one normaliser each.
DOCUMENT_NUMBER = Field("number", normalise.document_number, True, "document number as printed")
ISSUING_STATE = Field("country", normalise.state, True, "issuing state, ICAO 9303 code")
DOCUMENT_TYPE = Field("type", normalise.document_type, False, "MRZ document code: P, I, A, C, V")
REPORTED_ON = Field("reported_on", normalise.past_date, False, "ISO date of the report")
REFERENCE = Field("reference", normalise.text, True, "the owner's own case or file reference")
PERSON_REF = Field("person_ref", normalise.text, False, "reference of the person, if known")
MAKE = Field("make", normalise.make, False, "maker; case, accents and punctuation folded")
CALIBRE = Field("calibre", normalise.text, False, "e.g. 9x19mm, .45 ACP, 7.62x39mm")

AFIS_DIMENSION = 256
FACE_DIMENSION = 512
FINGERS = (
    "right_thumb", "right_index", "right_middle", "right_ring", "right_little",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_little", "unknown",
)  # fmt: skip
SAD_KINDS = (
    "visa", "residence_permit", "work_permit", "vehicle_registration", "driving_licence",
    "id_card", "passport", "travel_document", "other",
)  # fmt: skip
SAD_STATUSES = ("stolen", "lost", "stolen_blank", "invalidated")
DNA_KINDS = ("person", "crime_scene", "missing", "unidentified")
SEXES = ("M", "F", "X")
VEHICLE_STATUSES = ("stolen", "robbed", "embezzled", "missing")
ARMS_STATUSES = ("stolen", "lost", "trafficked", "smuggled")
FIREARM_TYPES = (
    "pistol", "revolver", "rifle", "shotgun", "carbine", "submachine_gun", "machine_gun",
    "assault_rifle", "other",
)  # fmt: skip
ART_CATEGORIES = (
    "painting", "sculpture", "drawing", "print", "photograph", "manuscript", "book",
    "archaeology", "religious", "coin", "clock", "furniture", "jewellery", "textile",
    "ceramics", "musical_instrument", "other",
)  # fmt: skip
DOC_MODEL_KINDS = (
    "passport", "id_card", "visa", "residence_permit", "driving_licence", "seaman_book",
    "travel_document",
)  # fmt: skip
SOURCE_STATUSES = ("stolen", "lost", "missing", "abandoned", "seized")

SLTD = Database(
    code="SLTD",
    name="Stolen and Lost Travel Documents",
    matcher="exact",
    key=("number", "country"),
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

SAD = Database(
    code="SAD",
    name="Stolen Administrative Documents",
    matcher="exact",
    key=("number", "country"),
    weaker_match="number_only",
    fields=(
        DOCUMENT_NUMBER,
        Field("country", normalise.state, True, "issuing state, ICAO 9303 code"),
        Field("doc_kind", normalise.choice(SAD_KINDS), True, "; ".join(SAD_KINDS)),
        Field("status", normalise.choice(SAD_STATUSES), True, "; ".join(SAD_STATUSES)),
        REPORTED_ON,
    ),
)

NOMINAL = Database(
    code="NOMINAL",
    name="Persons: wanted, missing, dead unidentified, under UN sanctions",
    matcher="name",
    key=("reference",),
    threshold=0.85,
    lookups=(
        Lookup("reference", ("reference",)),
        Lookup("person", ("surname", "given_names", "dob"), partial=True),
    ),
    name_fields=("surname", "given_names", "aliases", "low_quality_aliases", "original_script"),
    name_query=("surname", "given_names"),
    query_extra=("dob", "nationality", "sex"),
    index_keys=person_index_keys,
    key_scheme=PERSON_KEY_SCHEME,
    fields=(
        Field("surname", normalise.text, True, "family name(s), any script"),
        Field("given_names", normalise.text, False, "given names; empty for a mononym"),
        Field("dob", normalise_birth_dates, False,
              "date(s) of birth, `;`-separated: YYYY, YYYY-MM, YYYY-MM-DD, a range "
              "YYYY/YYYY; `~` or `circa` before one = approximately"),
        Field("nationality", normalise.states, False, "ICAO codes, `;`-separated"),
        Field("sex", normalise.choice(SEXES, upper=True), False, "M, F or X"),
        Field("aliases", normalise.text, False, "other names, `;`-separated"),
        Field("low_quality_aliases", normalise.text, False,
              "weak aliases (UN quality Low), `;`-separated: searched, scored lower"),
        Field("original_script", normalise.text, False, "the name in its own script"),
        Field("documents", normalise.text, False,
              "identity documents, `;`-separated `TYPE NUMBER (STATE)`"),
        Field("notice_type", normalise.choice(PERSON_NOTICE_TYPES, upper=True), False,
              "; ".join(PERSON_NOTICE_TYPES)),
        Field("reference", normalise.text, False,
              "the source's own reference (UN list: REFERENCE_NUMBER, e.g. QDi.346)"),
        REPORTED_ON,
    ),
)  # fmt: skip

AFIS = Database(
    code="AFIS",
    name="Fingerprints",
    matcher="vector",
    key=("reference",),
    query_extra=("template", "finger"),
    threshold=0.9,
    vector_of=_template_vector,
    fields=(
        Field("template", biometrics.Template(AFIS_DIMENSION), True,
              f"{AFIS_DIMENSION} numbers: a JSON array, or in CSV `f32:`+base64", stored=False),
        Field("finger", normalise.choice(FINGERS), False, "; ".join(FINGERS)),
        REFERENCE,
        PERSON_REF,
    ),
)  # fmt: skip

FACE = Database(
    code="FACE",
    name="Facial images",
    matcher="vector",
    key=("reference",),
    query_extra=("template",),
    threshold=0.9,
    vector_of=_template_vector,
    fields=(
        Field("template", biometrics.Template(FACE_DIMENSION), True,
              f"{FACE_DIMENSION} numbers: a JSON array, or in CSV `f32:`+base64", stored=False),
        REFERENCE,
        PERSON_REF,
    ),
)  # fmt: skip

DNA = Database(
    code="DNA",
    name="DNA profiles",
    matcher="profile",
    key=("reference",),
    query_extra=("loci",),
    threshold=13,
    index_keys=allele_keys,
    fields=(
        Field("loci", biometrics.loci, True,
              'STR alleles per locus: JSON {"D3S1358": [15, 17]}, CSV D3S1358:15/17;vWA:14/16'),
        REFERENCE,
        Field("kind", normalise.choice(DNA_KINDS), False, "; ".join(DNA_KINDS)),
    ),
)  # fmt: skip

SMV = Database(
    code="SMV",
    name="Stolen Motor Vehicles",
    matcher="exact",
    key=("vin",),
    lookups=(Lookup("vin", ("vin",)), Lookup("plate", ("plate", "country"))),
    fields=(
        Field("vin", vehicles.vin, False, "17 characters, no I/O/Q; see loaders/vehicles.py"),
        Field("plate", vehicles.plate, False, "registration plate, letters and digits"),
        Field("country", normalise.state, False, "state of registration, ICAO code"),
        MAKE,
        Field("model", normalise.text),
        Field("colour", normalise.text),
        Field("status", normalise.choice(VEHICLE_STATUSES), True, "; ".join(VEHICLE_STATUSES)),
        REPORTED_ON,
    ),
)

VESSELS = Database(
    code="VESSELS",
    name="Stolen vessels and boats",
    matcher="exact+name",
    threshold=0.85,  # the name matcher's; an exact lookup is exact
    key=("hin",),
    lookups=(Lookup("hin", ("hin",)), Lookup("imo", ("imo",))),
    name_fields=("name",),
    index_keys=object_index_keys("name"),
    fields=(
        Field("hin", maritime.hin, False, "hull identification number (ISO 10087)"),
        Field("imo", maritime.imo, False, "IMO ship number, 7 digits with check digit"),
        Field("name", normalise.text, False, "the vessel's name"),
        Field("flag", normalise.state, False, "flag state, ICAO code"),
        MAKE,
        REPORTED_ON,
    ),
)

WOA = Database(
    code="WOA",
    name="Stolen Works of Art",
    matcher="exact+name",
    threshold=0.85,  # the name matcher's; an exact lookup is exact
    key=("object_id",),
    name_fields=("title", "artist"),
    index_keys=object_index_keys("title", "artist"),
    fields=(
        Field("object_id", normalise.identifier, True, "the object's id in the database"),
        Field("title", normalise.text, True, "title or short description"),
        Field("artist", normalise.text, False),
        Field("category", normalise.choice(ART_CATEGORIES), False, "; ".join(ART_CATEGORIES)),
        Field("country", normalise.state, False, "where it was stolen, ICAO code"),
        REPORTED_ON,
    ),
)

IARMS = Database(
    code="IARMS",
    name="Illicit Arms Records (lost, stolen, trafficked firearms)",
    matcher="exact",
    key=("serial", "make"),
    weaker_match="serial_only",
    fields=(
        Field("serial", normalise.identifier, True, "serial number as stamped"),
        Field("make", normalise.make, True, "maker; case, accents and punctuation folded"),
        Field("model", normalise.text),
        CALIBRE,
        Field("status", normalise.choice(ARMS_STATUSES), True, "; ".join(ARMS_STATUSES)),
        REPORTED_ON,
    ),
)

IFRT = Database(
    code="IFRT",
    name="Firearms Reference Table",
    matcher="exact",
    key=("make", "model"),
    fields=(
        Field("make", normalise.make, True, "maker; case, accents and punctuation folded"),
        Field("model", normalise.make, True, "model; folded like make"),
        CALIBRE,
        Field("type", normalise.choice(FIREARM_TYPES), False, "; ".join(FIREARM_TYPES)),
        Field("country_of_origin", normalise.state, False, "ICAO code"),
    ),
)

IBIN = Database(
    code="IBIN",
    name="Ballistic Information Network",
    matcher="exact",
    key=("exhibit_id",),
    query_extra=("calibre", "make"),
    fields=(
        Field("exhibit_id", normalise.identifier, True, "the cartridge case or bullet's id"),
        CALIBRE,
        MAKE,
        Field("case_ref", normalise.text),
        Field("country", normalise.state, False, "ICAO code"),
    ),
)

ICSE = Database(
    code="ICSE",
    name="Child sexual exploitation material (hash sets only, never images)",
    matcher="exact+vector",
    key=("sha256",),
    query_extra=("phash",),
    threshold=0.9,
    lookups=(Lookup("sha256", ("sha256",)), Lookup("md5", ("md5",))),
    vector_of=_phash_vector,
    fields=(
        Field("sha256", digests.sha256, False, "64 hex digits"),
        Field("md5", digests.md5, False, "32 hex digits"),
        Field("phash", digests.phash, False, "64-bit perceptual hash, 16 hex digits"),
        Field("series", normalise.text),
        Field("victim_identified", normalise.boolean, False, "true or false"),
    ),
)

DIALDOC = Database(
    code="DIALDOC",
    name="Counterfeit document alerts",
    matcher="exact",
    key=("country", "doc_kind", "series"),
    identity_fields=("country", "doc_kind", "series", "alert"),
    fields=(
        Field("country", normalise.state, True, "issuing state of the genuine document"),
        Field("doc_kind", normalise.choice(DOC_MODEL_KINDS), True, "; ".join(DOC_MODEL_KINDS)),
        Field("series", normalise.identifier, True, "the model's series, e.g. 2019A"),
        Field("alert", normalise.text, True, "the alert's reference"),
        Field("features", normalise.text, False, "how to tell the counterfeit"),
        REPORTED_ON,
    ),
)

EDISON = Database(
    code="EDISON",
    name="Genuine travel document models",
    matcher="exact",
    key=("country", "doc_kind", "series"),
    fields=(
        Field("country", normalise.state, True, "issuing state, ICAO code"),
        Field("doc_kind", normalise.choice(DOC_MODEL_KINDS), True, "; ".join(DOC_MODEL_KINDS)),
        Field("series", normalise.identifier, True, "the model's series, e.g. 2019A"),
        Field("valid_from", normalise.iso_date),
        Field("valid_to", normalise.iso_date),
        Field("features", normalise.text, False, "security features to check"),
    ),
)

COUNTERFEIT = Database(
    code="COUNTERFEIT",
    name="Counterfeit currency and security documents",
    matcher="exact",
    key=("currency", "denomination", "serial"),
    fields=(
        Field("currency", currency, True, "ISO 4217 code"),
        Field("denomination", normalise.amount, True, "face value, e.g. 50 or 0.5"),
        Field("serial", normalise.identifier, True, "the note's serial number"),
        Field("series", normalise.text),
        Field("first_seen", normalise.past_date),
    ),
)

PIRACY = Database(
    code="PIRACY",
    name="Maritime piracy",
    matcher="exact+name",
    threshold=0.85,  # the name matcher's; an exact lookup is exact
    key=("imo",),
    identity_fields=("imo", "incident"),
    name_fields=("name",),
    index_keys=object_index_keys("name"),
    fields=(
        Field("imo", maritime.imo, True, "IMO ship number of the vessel involved"),
        Field("name", normalise.text, False, "the vessel's name"),
        Field("incident", normalise.identifier, True, "the incident's reference"),
        Field("date", normalise.past_date),
        Field("area", normalise.text, False, "e.g. Gulf of Guinea"),
    ),
)

GEIGER = Database(
    code="GEIGER",
    name="Radiological and nuclear materials out of regulatory control",
    matcher="exact",
    key=("serial",),
    query_extra=("isotope",),
    fields=(
        Field("serial", normalise.identifier, True, "the source's serial number"),
        Field("isotope", isotope, False, "radionuclide, IAEA notation (Cs-137)"),
        Field("activity", normalise.text, False, "activity at reference date, e.g. 3.7 GBq"),
        Field("status", normalise.choice(SOURCE_STATUSES), False, "; ".join(SOURCE_STATUSES)),
        REPORTED_ON,
    ),
)

DATABASES: Mapping[str, Database] = {
    db.code: db
    for db in (
        SLTD, TDAWN, SAD, NOMINAL, AFIS, FACE, DNA, SMV, VESSELS, WOA, IARMS, IFRT, IBIN,
        ICSE, DIALDOC, EDISON, COUNTERFEIT, PIRACY, GEIGER,
    )
}  # fmt: skip


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


def identity(
    db: Database, values: Mapping[str, object], owner: str, lookup: Lookup | None = None
) -> bytes:
    """Two rows with this same identity are the same record: the later one replaces it.

    See the module docstring. The owner is part of it: the same passport reported by two
    NCBs is two records, and one NCB can withdraw only its own. Raises KeyError when
    `values` have the fields of no lookup (records.py rejects such rows first).
    """
    if db.identity_fields:
        return _joined([_text(values.get(name)) for name in db.identity_fields], owner)
    lookup = lookup or db.lookup_for(values)
    if lookup is None:
        raise KeyError(f"{db.code}: no lookup's fields are present")
    parts = [_text(values.get(name)) for name in lookup.fields]
    return _joined([lookup.name.encode(), *parts] if len(db.lookups) > 1 else parts, owner)


def _joined(parts: list[bytes], owner: str) -> bytes:
    return IDENTITY_SEPARATOR.join([*parts, owner.encode()])


def record_keys(
    db: Database,
    values: Mapping[str, object],
    lookup: Lookup | None = None,
    index_keys: bool = True,
) -> tuple[bytes, ...]:
    """A record's lookup keys, its primary key (that of its identity) first, then those of
    the other lookups it has fields for (where it is matched exactly), then `index_keys`
    unless `index_keys=False` (the loader stores those apart, as the record's tokens)."""
    first = db.lookups[0] if db.identity_fields else lookup or db.lookup_for(values)
    if first is None:
        raise KeyError(f"{db.code}: no lookup's fields are present")
    keys = [db.lookup_key(first, values)]
    for lookup in db.indexed_lookups:
        if lookup is not first and lookup.present(values):
            keys.append(db.lookup_key(lookup, values))
    if index_keys and db.index_keys is not None:
        keys.extend(db.index_keys(values))
    return tuple(keys)


def record_id(db: Database, identity_bytes: bytes) -> str:
    """The `id` a terminal sees: readable and stable across compactions.

    For example SLTD/L898902C3/UTO/UTO: database, number, issuing state, owner; and
    SMV/vin/WVWZZZ1JZXW000001/D for a database found by several lookups.
    """
    return db.code + "/" + identity_bytes.decode().replace("\x1f", "/")
