"""`GET /openapi.json`: a valid OpenAPI document that matches the router, the error classes
and, under schemathesis, what the running service really answers."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgpack
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, reject, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import screening
from screening.codec import MSGPACK_TYPE
from screening.openapi import document
from screening.testing import LocalClient, ServerProcess

ERROR_MODULES = ("errors.py", "http_errors.py", "keys.py")
"""Where the `ScreeningError` classes, and so every `error.code`, are declared."""

ABSTRACT_ERRORS = frozenset({"ScreeningError"})
"""Base classes that are never raised themselves (their `code` is a placeholder)."""


def _routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"  # aiohttp adds HEAD to GETs
    }


def _declared_error_codes() -> set[str]:
    """The `code = "..."` of every error class of the package, read from the source."""
    codes: set[str] = set()
    package = Path(screening.__file__).parent
    for name in ERROR_MODULES:
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) or node.name in ABSTRACT_ERRORS:
                continue
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [getattr(target, "id", None) for target in statement.targets] == ["code"]
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    codes.add(statement.value.value)
    return codes


def test_the_document_is_valid_openapi() -> None:
    schema = schemathesis.openapi.from_dict(document())
    schema.validate()  # against the OpenAPI 3.0 meta-schema
    assert document()["openapi"].startswith("3.0")


def test_the_validation_catches_a_broken_document() -> None:
    broken = {**document(), "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    with pytest.raises(jsonschema_rs.ValidationError, match="responses"):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_route_is_documented_and_every_documented_route_exists(http: LocalClient) -> None:
    documented = {(method, path) for path, item in document()["paths"].items() for method in item}
    server = http.client.server
    assert isinstance(server, TestServer) and server.app is not None
    assert documented == _routes(server.app)


def test_every_error_code_is_in_the_enums() -> None:
    schemas = document()["components"]["schemas"]
    enums = set(schemas["ErrorCode"]["enum"]) | set(schemas["QueryErrorCode"]["enum"])
    declared = _declared_error_codes()
    assert {"bad_request", "keys_unavailable", "not_loaded"} <= declared  # the parse found them
    assert declared == enums


def test_every_error_status_has_the_error_shape() -> None:
    components = document()["components"]
    statuses = set()
    for name, response in components["responses"].items():
        for media in response["content"].values():
            schema_name = media["schema"]["$ref"].split("/")[-1]
            statuses.add(int(schema_name.removeprefix("Error")))
            schema = components["schemas"][schema_name]
            assert schema["required"] == ["error"], name
            assert schema["properties"]["error"]["required"] == ["code", "message"], name
    assert {400, 401, 403, 404, 405, 408, 413, 429, 500, 503} == statuses


def test_the_route_serves_the_document_to_any_key(
    http: LocalClient, api_keys: dict[str, str]
) -> None:
    assert http.request("GET", "/openapi.json").status == 401
    for key in api_keys.values():
        reply = http.request("GET", "/openapi.json", key=key)
        assert reply.status == 200, reply
        assert reply.headers["Content-Type"].startswith("application/json")
        assert reply.body == document()
    packed = http.request(
        "GET", "/openapi.json", key=api_keys["fra"], headers={"Accept": MSGPACK_TYPE}
    )
    assert packed.body == document()


# --- schemathesis against a real `screening serve` --------------------------------------


@schemathesis.serializer(MSGPACK_TYPE)
def _to_msgpack(context: schemathesis.SerializationContext, value: Any) -> bytes:
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
        return packed
    except OverflowError:  # an integer no msgpack client can send
        reject()


@schemathesis.deserializer(MSGPACK_TYPE)
def _from_msgpack(context: schemathesis.DeserializationContext, response: Any) -> Any:
    return msgpack.unpackb(response.content, raw=False)


@pytest.fixture(scope="module")
def live_server(
    served_data: Path, api_keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One worker on a copy of the session's data and keys (schemathesis makes keys)."""
    root = tmp_path_factory.mktemp("openapi")
    data = root / "data"
    shutil.copytree(served_data, data)
    server = ServerProcess(["--data", str(data), "--workers", "1"], root / "logs")
    try:
        server.wait_for_workers(1)
        yield server
    finally:
        server.stop(timeout=15)


fuzzed = schemathesis.openapi.from_dict(document())


@fuzzed.parametrize()
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_service_keeps_the_document(
    case: schemathesis.Case[Any], live_server: ServerProcess, api_keys: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{live_server.port}",
        headers={"Authorization": f"Bearer {api_keys['ops']}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        timeout=10,
    )


def test_every_database_has_its_query_shape_from_the_catalog() -> None:
    from loaders.catalog import DATABASES

    schemas = document()["components"]["schemas"]
    assert schemas["Query"]["anyOf"] == [
        {"$ref": f"#/components/schemas/Query{code}"} for code in DATABASES
    ]
    for code, db in DATABASES.items():
        shape = schemas[f"Query{code}"]
        assert shape["properties"]["db"]["enum"] == [code]
        assert list(shape["properties"])[1:] == list(db.query_fields)
    assert schemas["QueryAFIS"]["properties"]["template"]["minItems"] == 256
    assert "vin + plate" not in schemas["QuerySMV"]["description"]
    assert "vin; or plate + country" in schemas["QuerySMV"]["description"]
