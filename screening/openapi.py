"""`GET /openapi.json`: the OpenAPI 3.0 document of the HTTP contract, as implemented.

This module is its one source: the document is built here from Python (so the catalog's
codes and the MRZ formats are not copied by hand) and served as is, to a key of any role
(API.md: every request but `/healthz` carries a key). tests/screening/test_openapi.py
checks it against the router, the error classes and the live service (schemathesis).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from loaders.biometrics import Template
from loaders.catalog import DATABASES, NOTICE_TYPES, SLTD_STATUSES, Database, Field
from screening.codec import MSGPACK_TYPE, respond
from screening.hits_view import DEFAULT_LIMIT as DEFAULT_HITS_PAGE
from screening.hits_view import MAX_LIMIT as MAX_HITS_PAGE
from screening.keys import ROLES
from screening.mrz import LAYOUTS
from screening.mrz_screen import MRZ_DATABASES

OPENAPI_VERSION = "3.0.3"

Schema = dict[str, Any]

REQUEST_ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("bad_request",),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    408: ("request_timeout",),
    413: ("body_too_large", "batch_too_large"),
    429: ("rate_limited",),
    500: ("internal",),
    503: ("unavailable", "keys_unavailable"),
}
"""Status -> the `error.code`s a whole request can fail with (screening/SERVING.md: Errors)."""

QUERY_ERROR_CODES = ("bad_query", "not_supported", "not_loaded")
"""The codes of one query's error entry in a batch's `results`."""

WEAKER_MATCHES = (db.weaker_match for db in DATABASES.values() if db.weaker_match)
MATCH_KINDS = tuple(dict.fromkeys(["exact", *WEAKER_MATCHES, "fuzzy", "similar", "profile"]))

RESPONSE_NAMES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The body is not JSON/msgpack or not the route's shape; the message "
          "names the field and why."),
    401: ("Unauthorized", "No `Authorization: Bearer KEY`, or a key the key file does not hold. "
          "Checked before routing: an unknown path without a key is a 401."),
    403: ("Forbidden", "The key's role or country may not do this."),
    404: ("NotFound", "No such route (only with a valid key: see 401)."),
    405: ("MethodNotAllowed", "A known path with a method it does not take; `Allow` lists the "
          "methods it does."),
    408: ("RequestTimeout", "The body did not arrive within `--request-timeout` of the "
          "headers; the connection is closed after this answer."),
    413: ("TooLarge", "The body is over `--max-body` (`body_too_large`), or the batch over "
          "`--max-batch` (`batch_too_large`); the message states the limit."),
    429: ("RateLimited", "Over `--rate` requests per second for this key; `Retry-After` says "
          "when to come back."),
    500: ("Internal", "A bug: the worker log has the traceback; the message names only the "
          "exception type."),
    503: ("Unavailable", "The indexes are not mapped yet or an index failed a check "
          "(`unavailable`); the key file cannot be read or written (`keys_unavailable`)."),
}  # fmt: skip


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, description: str = "") -> Schema:
    schema: Schema = {"type": kind, "nullable": True}
    if description:
        schema["description"] = description
    return schema


def _object(properties: Schema, required: tuple[str, ...] = (), description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def _error_schema(codes: tuple[str, ...], description: str) -> Schema:
    return _object(
        {
            "error": _object(
                {
                    "code": {"type": "string", "enum": list(codes)},
                    "message": {"type": "string", "description": "what, where and any limit"},
                },
                ("code", "message"),
            )
        },
        ("error",),
        description,
    )


def _content(schema: Schema) -> Schema:
    """The same shape in JSON and msgpack (the encoding follows the request's)."""
    return {"application/json": {"schema": schema}, MSGPACK_TYPE: {"schema": schema}}


def _body(schema_name: str, description: str) -> Schema:
    return {"required": True, "description": description, "content": _content(_ref(schema_name))}


def _ok(schema_name: str, description: str) -> Schema:
    return {"description": description, "content": _content(_ref(schema_name))}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {
        str(status): {"$ref": f"#/components/responses/{RESPONSE_NAMES[status][0]}"}
        for status in statuses
    }


def _header(description: str, kind: str = "string") -> Schema:
    return {"description": description, "schema": {"type": kind}}


def _error_responses() -> dict[str, Schema]:
    responses: dict[str, Schema] = {}
    for status, (name, description) in RESPONSE_NAMES.items():
        response: Schema = {
            "description": description,
            "content": _content(_ref(f"Error{status}")),
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": _header('`Bearer realm="screening"`')}
        if status == 405:
            response["headers"] = {"Allow": _header("the methods the path takes")}
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": _header("seconds to wait before trying again", "integer")
            }
        responses[name] = response
    return responses


def _schemas() -> dict[str, Schema]:
    request_codes = tuple(code for codes in REQUEST_ERROR_CODES.values() for code in codes)
    schemas: dict[str, Schema] = {
        "ErrorCode": {
            "type": "string",
            "enum": list(request_codes),
            "description": "Every `error.code` of a failed request (SERVING.md: Errors).",
        },
        "QueryErrorCode": {
            "type": "string",
            "enum": list(QUERY_ERROR_CODES),
            "description": "The `error.code` of one query's entry in a batch's `results`.",
        },
        "Error": _object(
            {
                "error": _object(
                    {"code": _ref("ErrorCode"), "message": {"type": "string"}},
                    ("code", "message"),
                )
            },
            ("error",),
            'Every error of a request: `{"error": {"code", "message"}}`.',
        ),
    }
    for status, codes in REQUEST_ERROR_CODES.items():
        schemas[f"Error{status}"] = _error_schema(codes, f"The error shape, as sent with {status}.")
    schemas.update(
        {
            "Health": _object(
                {
                    "status": {"type": "string", "enum": ["ok", "starting", "stopping"]},
                    "pid": {"type": "integer"},
                    "worker": {"type": "integer"},
                    "uptime_s": {"type": "number"},
                    "generations": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                        "description": "database code -> the generation this worker serves",
                    },
                    "keys": {"type": "integer", "description": "keys this worker accepts"},
                    "refused": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "what newer data or key file is refused, and why",
                    },
                },
                ("status", "pid", "worker", "uptime_s", "generations", "keys", "refused"),
            ),
            "Database": _object(
                {
                    "code": {"type": "string", "enum": list(DATABASES)},
                    "name": {"type": "string"},
                    "matcher": {"type": "string", "description": "exact, name, vector, profile"},
                    "records": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "live records the caller's country may see",
                    },
                    "updated": _nullable("string", "when the served generation was published"),
                    "generation": _nullable("integer"),
                    "segments": {"type": "integer", "minimum": 0},
                    "loaded": {"type": "boolean"},
                    "screenable": {"type": "boolean"},
                    "threshold": {
                        "type": "number",
                        "description": "score for a hit (DNA: agreeing loci)",
                    },
                    "fields": {
                        "type": "array",
                        "items": _object(
                            {
                                "name": {"type": "string"},
                                "required": {"type": "boolean"},
                                "description": {"type": "string"},
                            },
                            ("name", "required", "description"),
                        ),
                        "description": "the upload fields (README.md: upload formats)",
                    },
                    "lookups": {
                        "type": "array",
                        "items": {"type": "array", "items": {"type": "string"}},
                        "description": "exact lookups: each the fields a query must all give",
                    },
                    "name_fields": {"type": "array", "items": {"type": "string"}},
                },
                (
                    "code",
                    "name",
                    "matcher",
                    "records",
                    "updated",
                    "generation",
                    "segments",
                    "loaded",
                    "screenable",
                ),
            ),
            "Databases": _object(
                {"databases": {"type": "array", "items": _ref("Database")}},
                ("databases",),
                "Every database of the catalog, SLTD first.",
            ),
            "Query": {
                "anyOf": [_ref(f"Query{code}") for code in DATABASES],
                "description": "One query: `db` and the fields that database is screened by "
                "(one `Query<CODE>` schema per database, from the catalog). A wrong query "
                "gets its own error entry in `results`; it does not fail the batch.",
            },
            **_query_schemas(),
            "ScreenRequest": _object(
                {
                    "queries": {
                        "type": "array",
                        "items": _ref("Query"),
                        "description": "at most `--max-batch` (10,000 by default); more is a 413",
                    }
                },
                ("queries",),
            ),
            "ColumnBatch": _object(
                {
                    "db": {
                        "type": "string",
                        "description": "one database with one exact lookup (SLTD, TDAWN, SAD, "
                        "IARMS, IFRT, IBIN, DIALDOC, EDISON, COUNTERFEIT, GEIGER); another is a "
                        "400 that says to send `queries`",
                    },
                    "columns": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "oneOf": [
                                {"type": "array", "items": {}},
                                {
                                    "type": "string",
                                    "description": "the values joined by newlines (`\\n`)",
                                },
                            ]
                        },
                        "description": "field name -> its value in each row, as a list or "
                        "as text; every lookup field given, every column as long; more rows "
                        "than `--max-batch` is a 413",
                    },
                },
                ("db", "columns"),
                "The columnar batch: the rows `{db, field: columns[field][i]}` as columns, "
                "answered with the same results in a shape where a miss costs nothing.",
            ),
            "ColumnError": _object(
                {
                    "index": {"type": "integer", "minimum": 0},
                    "field": _nullable("string", "the field at fault, if one is"),
                    "code": _ref("QueryErrorCode"),
                    "message": {
                        "type": "string",
                        "description": "starts with the row and field: `columns[3].number: ...`",
                    },
                },
                ("index", "field", "code", "message"),
                "A row that was not screened; the others are.",
            ),
            "ColumnFound": _object(
                {
                    "index": {"type": "integer", "minimum": 0},
                    "hit": {"type": "boolean"},
                    "matches": {"type": "array", "items": _ref("Match")},
                },
                ("index", "hit", "matches"),
                "A row with matches: its per-query `Result`, and its index.",
            ),
            "ColumnResponse": _object(
                {
                    "db": {"type": "string"},
                    "rows": {"type": "integer", "minimum": 0},
                    "hit": {
                        "type": "array",
                        "items": _nullable("boolean"),
                        "description": "per row: its `hit`, or null when it was not screened "
                        "(its entry in `errors` says why)",
                    },
                    "found": {
                        "type": "array",
                        "items": _ref("ColumnFound"),
                        "description": "the rows with matches, in row order",
                    },
                    "errors": {
                        "type": "array",
                        "items": _ref("ColumnError"),
                        "description": "the rows not screened, in row order",
                    },
                    "took_us": {"type": "integer", "minimum": 0},
                },
                ("db", "rows", "hit", "found", "errors", "took_us"),
            ),
            "Record": _object(
                {
                    "number": {"type": "string"},
                    "country": {"type": "string"},
                    "type": {"type": "string"},
                    "status": {
                        "type": "string",
                        "description": "SLTD: " + ", ".join(SLTD_STATUSES),
                    },
                    "notice": {"type": "string", "description": "TDAWN"},
                    "notice_type": {"type": "string", "description": ", ".join(NOTICE_TYPES)},
                    "reported_on": {"type": "string", "format": "date"},
                    "owner": {"type": "string", "description": "the NCB that reported it"},
                },
                ("owner",),
                "The stored record: its set fields, `owner`, then any extra upload fields.",
            ),
            "Match": _object(
                {
                    "db": {"type": "string"},
                    "id": {"type": "string", "description": "e.g. SLTD/L898902C3/UTO/UTO"},
                    "match": {
                        "type": "string",
                        "enum": list(MATCH_KINDS),
                        "description": "`exact`, or the database's weaker kind",
                    },
                    "score": {"type": "number", "minimum": 0, "maximum": 1},
                    "record": _ref("Record"),
                },
                ("db", "id", "match", "score", "record"),
            ),
            "Result": _object(
                {
                    "hit": {"type": "boolean"},
                    "matches": {"type": "array", "items": _ref("Match")},
                },
                ("hit", "matches"),
                "The answer to one query.",
            ),
            "QueryError": _object(
                {
                    "error": _object(
                        {
                            "code": _ref("QueryErrorCode"),
                            "message": {
                                "type": "string",
                                "description": "starts with the field: `queries[3].number: ...`",
                            },
                        },
                        ("code", "message"),
                    )
                },
                ("error",),
                "One query that could not be answered; the others are.",
            ),
            "ScreenResponse": _object(
                {
                    "results": {
                        "type": "array",
                        "items": {"oneOf": [_ref("Result"), _ref("QueryError")]},
                        "description": "one per query, in order",
                    },
                    "took_us": {"type": "integer", "minimum": 0},
                },
                ("results", "took_us"),
            ),
            "MrzRequest": _object(
                {
                    "mrz": {
                        "oneOf": [
                            {"type": "string"},
                            {"type": "array", "items": {"type": "string"}},
                        ],
                        "description": "the zone's lines, separated by \\n, or as a list",
                    }
                },
                ("mrz",),
            ),
            "Document": _object(
                {
                    "format": {"type": "string", "enum": list(LAYOUTS)},
                    "type": _nullable("string"),
                    "country": _nullable("string", "issuing state"),
                    "number": _nullable("string"),
                    "surname": {"type": "string"},
                    "given_names": {"type": "string"},
                    "nationality": _nullable("string"),
                    "birth_date": _nullable("string"),
                    "sex": _nullable("string"),
                    "expiry_date": _nullable("string"),
                    "optional_data": {"type": "string"},
                    "optional_data_2": _nullable("string", "TD1 only"),
                },
                (
                    "format",
                    "type",
                    "country",
                    "number",
                    "surname",
                    "given_names",
                    "nationality",
                    "birth_date",
                    "sex",
                    "expiry_date",
                    "optional_data",
                    "optional_data_2",
                ),
            ),
            "MrzResult": {
                "allOf": [
                    _ref("Result"),
                    _object({"db": {"type": "string", "enum": list(MRZ_DATABASES)}}, ("db",)),
                ]
            },
            "MrzResponse": _object(
                {
                    "document": _ref("Document"),
                    "checks": {
                        "type": "object",
                        "additionalProperties": {"type": "boolean"},
                        "description": "number, birth_date, expiry_date, composite, optional",
                    },
                    "valid": {"type": "boolean"},
                    "failed": {"type": "array", "items": {"type": "string"}},
                    "problems": {"type": "array", "items": {"type": "string"}},
                    "hit": {"type": "boolean"},
                    "results": {"type": "array", "items": _ref("MrzResult")},
                    "screened": {
                        "type": "object",
                        "additionalProperties": {"type": "boolean"},
                        "description": "whether each database was really asked",
                    },
                    "not_screened": {
                        "type": "array",
                        "items": _object(
                            {"db": {"type": "string"}, "reason": {"type": "string"}},
                            ("db", "reason"),
                        ),
                    },
                    "took_us": {"type": "integer", "minimum": 0},
                },
                (
                    "document",
                    "checks",
                    "valid",
                    "failed",
                    "problems",
                    "hit",
                    "results",
                    "screened",
                    "not_screened",
                    "took_us",
                ),
            ),
            "KeyRequest": _object(
                {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._:@/-]{0,63}$",
                        "description": "unique per country",
                    },
                    "role": {"type": "string", "enum": list(ROLES), "default": "frontline"},
                    "country": {
                        "type": "string",
                        "description": "ICAO 9303 code; default the caller's",
                    },
                },
                ("name",),
            ),
            "NewKey": _object(
                {
                    "key": {"type": "string", "description": "the key, shown this once"},
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "country": {"type": "string"},
                    "role": {"type": "string", "enum": list(ROLES)},
                    "created": {"type": "string", "format": "date-time"},
                    "created_by": _nullable("string"),
                },
                ("key", "id", "name", "country", "role", "created", "created_by"),
            ),
            "Hit": _object(
                {
                    "at": {"type": "string", "format": "date-time", "description": "UTC"},
                    "db": {"type": "string"},
                    "id": {"type": "string", "description": "the record's id"},
                    "match": {"type": "string", "enum": list(MATCH_KINDS)},
                    "record": _ref("Record"),
                    "by": _object(
                        {
                            "country": {"type": "string", "description": "of the checking key"},
                            "name": {"type": "string", "description": "the key's name"},
                        },
                        ("country", "name"),
                        "Where the check was made: the key that made it.",
                    ),
                    "check": {
                        "type": "string",
                        "description": "the check's id, as in the audit trail",
                    },
                    "endpoint": {"type": "string", "enum": ["/v1/screen", "/v1/screen/mrz"]},
                },
                ("at", "db", "id", "match", "record", "by", "check", "endpoint"),
                "One hit on one of the caller's country's records.",
            ),
            "Hits": _object(
                {
                    "hits": {
                        "type": "array",
                        "items": _ref("Hit"),
                        "description": "oldest first, at most `limit`",
                    },
                    "cursor": {
                        "type": "string",
                        "description": "pass as `since` to get only newer hits",
                    },
                    "more": {
                        "type": "boolean",
                        "description": "`limit` cut the page short: ask again now",
                    },
                },
                ("hits", "cursor", "more"),
            ),
        }
    )
    return schemas


def _query_schemas() -> dict[str, Schema]:
    """`Query<CODE>` for every database of the catalog: its code and query fields."""
    return {f"Query{db.code}": _query_schema(db) for db in DATABASES.values()}


def _query_schema(db: Database) -> Schema:
    properties: Schema = {
        "db": {"type": "string", "enum": [db.code], "description": f"{db.name} (any case)"}
    }
    for name in db.query_fields:
        properties[name] = _query_field(db.by_name[name])
    shapes = []
    if "exact" in db.matchers:
        shapes += [" + ".join(lookup.fields) for lookup in db.lookups]
    if "name" in db.matchers:
        shapes.append(" + ".join(db.name_query or db.name_fields[:1]) + " (by name)")
    for kind, field in (("vector", "template"), ("profile", "loci")):
        if kind in db.matchers and field in db.by_name:
            shapes.append(field)
    if "vector" in db.matchers and "phash" in db.by_name:
        shapes.append("phash (Hamming distance)")
    schema = _object(
        properties,
        ("db",),
        f"{db.code}, `{db.matcher}` matcher: screened by " + "; or ".join(shapes),
    )
    return schema


def _query_field(field: Field) -> Schema:
    normaliser = field.normaliser
    if isinstance(normaliser, Template):
        return {
            "type": "array",
            "items": {"type": "number"},
            "minItems": normaliser.dimension,
            "maxItems": normaliser.dimension,
            "description": field.doc,
        }
    if field.name == "loci":
        return {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": field.doc,
        }
    return {"type": "string", "description": field.doc or field.name}


def _paths() -> dict[str, Schema]:
    public: list[Schema] = []
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Whether this worker serves (no key needed)",
                "security": public,
                "responses": {
                    "200": _ok("Health", "The indexes are mapped."),
                    "503": _ok("Health", "`status` is `starting` or `stopping`."),
                },
            }
        },
        "/v1/databases": {
            "get": {
                "operationId": "databases",
                "summary": "Every database of the catalog, as the caller's country sees it",
                "responses": {
                    "200": _ok("Databases", "The catalog."),
                    **_errors(401, 429, 500, 503),
                },
            }
        },
        "/v1/screen": {
            "post": {
                "operationId": "screen",
                "summary": "One or many queries, answered in order",
                "requestBody": {
                    "required": True,
                    "description": "JSON, or msgpack with its content type: `queries`, or a "
                    "columnar batch of one database (`db` and `columns`).",
                    "content": _content({"oneOf": [_ref("ScreenRequest"), _ref("ColumnBatch")]}),
                },
                "responses": {
                    "200": {
                        "description": "One result or query error per query (`results`), "
                        "or, for a columnar batch, a `ColumnResponse`.",
                        "content": _content(
                            {"oneOf": [_ref("ScreenResponse"), _ref("ColumnResponse")]}
                        ),
                    },
                    **_errors(400, 401, 408, 413, 429, 500, 503),
                },
            }
        },
        "/v1/screen/mrz": {
            "post": {
                "operationId": "screen_mrz",
                "summary": "A machine readable zone parsed, checked and screened",
                "requestBody": _body("MrzRequest", "JSON, or msgpack with its content type."),
                "responses": {
                    "200": _ok("MrzResponse", "The zone as read, and what screening found."),
                    **_errors(400, 401, 408, 413, 429, 500, 503),
                },
            }
        },
        "/v1/hits": {
            "get": {
                "operationId": "hits",
                "summary": "The hits on the caller's country's own records (ncb keys only)",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "description": "the `cursor` of the previous answer; none: from the "
                        "oldest hit kept",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "most hits in one answer",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_HITS_PAGE,
                            "default": DEFAULT_HITS_PAGE,
                        },
                    },
                ],
                "responses": {
                    "200": _ok("Hits", "The next hits, and the cursor past them."),
                    **_errors(400, 401, 403, 429, 500),
                },
            }
        },
        "/v1/keys": {
            "post": {
                "operationId": "create_key",
                "summary": "Make an API key (ncb: frontline keys of its country; ops: any)",
                "requestBody": _body("KeyRequest", "JSON, or msgpack; at most 4,096 bytes."),
                "responses": {
                    "201": _ok("NewKey", "The new key, shown this once, and its entry."),
                    **_errors(400, 401, 403, 408, 413, 429, 500, 503),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text format, ops keys only",
                "responses": {
                    "200": {
                        "description": "The metrics of every worker, added up.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403, 429, 500),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document (a key of any role)",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document of the HTTP contract.",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            MSGPACK_TYPE: {"schema": {"type": "object"}},
                        },
                    },
                    **_errors(401, 429, 500),
                },
            }
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once; do not mutate it)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Border screening lookup service",
            "version": "1",
            "description": (
                "shared/API.md as implemented (screening/SERVING.md). JSON by default; a "
                "request sent as `application/msgpack` is answered in msgpack, errors included. "
                'Every error is `{"error": {"code", "message"}}`; any path answers 401 '
                "without a valid key, 404 (`NotFound`) when no route has it and 405 "
                "(`MethodNotAllowed`) for a method its route does not take."
            ),
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer scr_<id>_<secret>`; roles "
                    + ", ".join(ROLES),
                }
            },
            "schemas": _schemas(),
            "responses": _error_responses(),
        },
    }


async def openapi(request: web.Request) -> web.Response:
    return respond(request, document())
