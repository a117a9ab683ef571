"""`GET /v1/databases`: every database of the catalog, SLTD first, as the caller sees it.

`records` counts what the caller's country may see: a record restricted to other states
is never counted for it (nor returned by /v1/screen). `updated` is when the generation
being served was published; `loaded` says whether anything is, and `screenable` whether
this build can screen it. `fields`, `lookups` and `threshold` come from the catalog: what
an upload holds and what a query gives.
"""

from __future__ import annotations

from aiohttp import web

from loaders.catalog import DATABASES, Database
from screening.codec import respond
from screening.data import Data
from screening.matchers import screenable
from screening.state import CALLER, SERVICE


async def databases(request: web.Request) -> web.Response:
    data = request.app[SERVICE].live.current()
    country = request[CALLER].country
    return respond(request, {"databases": [_entry(data, db, country) for db in DATABASES.values()]})


def _entry(data: Data, db: Database, country: str) -> dict[str, object]:
    snapshot = data.snapshots.get(db.code)
    return {
        "code": db.code,
        "name": db.name,
        "matcher": db.matcher,
        "threshold": db.threshold,
        "records": data.count(db, country),
        "updated": snapshot.manifest.updated if snapshot else None,
        "generation": snapshot.generation if snapshot else None,
        "segments": len(snapshot.parts) if snapshot else 0,
        "loaded": snapshot is not None,
        "screenable": screenable(db),
        "fields": [
            {"name": f.name, "required": f.required, "description": f.doc} for f in db.fields
        ],
        "lookups": [list(lookup.fields) for lookup in db.lookups if "exact" in db.matchers],
        "name_fields": list(db.name_fields),
    }
