"""From an upload row to a stored record and back, by the catalog.

A row is validated field by field; the first failure becomes the reject reason, naming the
field. A stored record is a compact msgpack list of the catalog's stored fields in order,
then owner, visible_to and the unknown fields the upload had (kept, as API.md promises).
Its keys and identity follow the catalog's lookups (loaders/catalog.py explains the rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from indexes import Deletion, Record, Snapshot
from loaders.catalog import (
    DELETE,
    UPSERT,
    Database,
    Lookup,
    identity,
    lookup_names,
    record_keys,
)
from loaders.normalise import FieldError, state_list

SPECIAL_FIELDS = ("action", "visible_to", "owner")


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(frozen=True)
class SecondaryDeletion:
    """A delete naming a record by a lookup that is not its identity (an SMV record with a
    VIN withdrawn by plate + country): the loader finds the owner's records under `key`
    whose `fields` equal `values`, and withdraws each by its own identity."""

    key: bytes
    fields: tuple[str, ...]
    values: dict[str, object]
    own: Deletion
    """The record identified by this very lookup (a car reported by plate only), which
    may also be staged by an earlier line of the same upload."""


def parse_row(
    db: Database, row: Mapping[str, str], owner: str
) -> Record | Deletion | SecondaryDeletion | Rejected:
    action = (row.get("action") or UPSERT).strip().lower()
    if action not in (UPSERT, DELETE):
        return Rejected(f"action: {row.get('action')!r} is not '{UPSERT}' or '{DELETE}'")
    try:
        if action == DELETE:
            return _deletion(db, row, owner)
        for name in db.required:
            if _empty(row.get(name)):
                return Rejected(f"{name}: required, but missing or empty")
        values = _normalised(db, row, db.field_names)
        lookup = db.lookup_for(values)
        if lookup is None:
            return Rejected(f"{lookup_names(db)}: required, but missing or empty")
        viewers = _viewers(row, owner)
    except _BadField as bad:
        return Rejected(str(bad))
    return _record(db, row, values, owner, viewers, lookup)


class _BadField(Exception):
    pass


def _empty(raw: str | None) -> bool:
    return not raw or raw.isspace()


def _deletion(
    db: Database, row: Mapping[str, str], owner: str
) -> Deletion | SecondaryDeletion | Rejected:
    single = db.identity_fields or (db.lookups[0].fields if len(db.lookups) == 1 else ())
    for name in single:
        if _empty(row.get(name)):
            return Rejected(f"{name}: required, but missing or empty")
    if db.identity_fields:
        values = _normalised(db, row, db.identity_fields)
        return Deletion(identity(db, values, owner), db.lookup_key(db.lookups[0], values))
    names = tuple(dict.fromkeys(name for lookup in db.lookups for name in lookup.fields))
    values = _normalised(db, row, names)
    lookup = db.lookup_for(values)
    if lookup is None:
        return Rejected(f"{lookup_names(db)}: required, but missing or empty")
    key = db.lookup_key(lookup, values)
    if lookup is db.lookups[0] or lookup not in db.indexed_lookups:
        return Deletion(identity(db, values, owner), key)
    own = Deletion(identity(db, values, owner), key)
    return SecondaryDeletion(key, lookup.fields, {n: values.get(n) for n in lookup.fields}, own)


def _normalised(db: Database, row: Mapping[str, str], names: tuple[str, ...]) -> dict[str, object]:
    values: dict[str, object] = {}
    fields = db.by_name
    for name in names:
        raw = row.get(name)
        if not raw or raw.isspace():
            continue
        try:
            values[name] = fields[name].normaliser(raw)
        except FieldError as error:
            raise _BadField(f"{name}: {error}") from None
    return values


def _viewers(row: Mapping[str, str], owner: str) -> frozenset[str] | None:
    raw = row.get("visible_to")
    if not raw:
        return None
    try:
        states = state_list(raw)
    except FieldError as error:
        raise _BadField(f"visible_to: {error}") from None
    return frozenset((*states, owner)) if states else None


def _record(
    db: Database,
    row: Mapping[str, str],
    values: dict[str, object],
    owner: str,
    viewers: frozenset[str] | None,
    lookup: Lookup,
) -> Record:
    """The stored record; `lookup` is the first the row has (a record must be findable)."""
    extras = None
    if len(row) > len(values):
        extras = {
            name: value
            for name, value in row.items()
            if value != "" and name not in db.by_name and name not in SPECIAL_FIELDS
        }
    data = [values.get(name) for name in db.record_fields]
    data += [owner, sorted(viewers) if viewers else None, extras or None]
    vector = db.vector_of(values) if db.vector_of is not None else None
    keys = record_keys(db, values, lookup, index_keys=False)
    tokens = tuple(db.index_keys(values)) if db.index_keys is not None else ()
    return Record(identity(db, values, owner, lookup), keys, data, viewers, vector, tokens)


def decode(db: Database, data: object) -> dict[str, object]:
    """The record a terminal sees: set fields only, then owner, then any extra fields.

    `visible_to` stays out: which other states may see a record is the owner's business.
    """
    size = len(db.record_fields) + 3
    if not isinstance(data, list) or len(data) != size:
        raise ValueError(f"a {db.code} record is a list of {size} values")
    record = {  # zip stops at the last field: owner, visible_to and extras follow
        name: value
        for name, value in zip(db.record_fields, data, strict=False)
        if value is not None and value != ""
    }
    record["owner"] = data[-3]
    extras = data[-1]
    if extras:
        record.update({k: v for k, v in extras.items() if k not in record})
    return record


def withdrawals(
    published: Snapshot | None, db: Database, owner: str, wanted: SecondaryDeletion
) -> list[Deletion]:
    """The record identified by the delete's lookup itself, then the owner's published
    records under `wanted.key` whose lookup fields equal the delete's, each as a Deletion
    by its own identity and primary key. A record with a VIN staged by an earlier line of
    the same upload is not seen by a delete by plate (it is by a delete by VIN)."""
    found = [wanted.own]
    if published is None:
        return found
    for part, number in published.find(wanted.key, owner):
        identity_bytes, data = published.record(part, number)
        record = decode(db, data)
        if record.get("owner") != owner:
            continue
        if identity_bytes == wanted.own.identity:
            continue
        if all(record.get(name) == value for name, value in wanted.values.items()):
            found.append(Deletion(identity_bytes, record_keys(db, record)[0]))
    return found
