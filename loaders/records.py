"""From an upload row to a stored record and back, by the catalog.

A row is validated field by field; the first failure becomes the reject reason, naming the
field. A stored record is a compact msgpack list in catalog field order, then owner,
visible_to and the unknown fields the upload had (kept, as API.md promises).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from indexes import Deletion, Record
from loaders.catalog import DELETE, UPSERT, Database, identity
from loaders.normalise import FieldError, state_list

SPECIAL_FIELDS = ("action", "visible_to", "owner")


@dataclass(frozen=True)
class Rejected:
    reason: str


def parse_row(db: Database, row: Mapping[str, str], owner: str) -> Record | Deletion | Rejected:
    action = (row.get("action") or UPSERT).strip().lower()
    if action not in (UPSERT, DELETE):
        return Rejected(f"action: {row.get('action')!r} is not '{UPSERT}' or '{DELETE}'")
    wanted = db.key if action == DELETE else db.required
    for name in wanted:
        if not (row.get(name) or "").strip():
            return Rejected(f"{name}: required, but missing or empty")
    try:
        values = _normalised(db, row, db.key if action == DELETE else db.record_fields)
        if action == DELETE:
            key_values = [values[name] for name in db.key]
            return Deletion(identity(db, values, owner), str(key_values[0]).encode())
        viewers = _viewers(row, owner)
    except _BadField as bad:
        return Rejected(str(bad))
    return _record(db, row, values, owner, viewers)


class _BadField(Exception):
    pass


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
) -> Record:
    extras = None
    if len(row) > len(values):
        extras = {
            name: value
            for name, value in row.items()
            if value != "" and name not in db.by_name and name not in SPECIAL_FIELDS
        }
    data = [values.get(name) for name in db.record_fields]
    data += [owner, sorted(viewers) if viewers else None, extras or None]
    return Record(identity(db, values, owner), (str(values[db.key[0]]).encode(),), data, viewers)


def decode(db: Database, data: object) -> dict[str, object]:
    """The record a terminal sees: set fields only, then owner, then any extra fields.

    `visible_to` stays out: which other states may see a record is the owner's business.
    """
    if not isinstance(data, list) or len(data) != len(db.fields) + 3:
        raise ValueError(f"a {db.code} record is a list of {len(db.fields) + 3} values")
    *values, owner, _viewers, extras = data
    record = {name: value for name, value in zip(db.record_fields, values, strict=True) if value}
    record["owner"] = owner
    if extras:
        record.update({k: v for k, v in extras.items() if k not in record})
    return record
