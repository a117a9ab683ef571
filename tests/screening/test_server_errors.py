"""The one error shape of the HTTP contract (API.md): `{"error": {"code", "message"}}`.

Every status the service answers with an error is produced here by a real request and
checked for exactly that shape, in JSON and, for a msgpack client, in msgpack; and every
request-level error class of the hierarchy is produced by one of these cases.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgpack
import pytest

from indexes import CorruptFileError
from screening import http_errors, keys
from screening.errors import ScreeningError
from screening.keys import add_key
from screening.testing import LocalClient, MakeClient, Reply, decode_reply

MSGPACK = {"Content-Type": "application/msgpack"}
SPECIMEN = {"db": "SLTD", "number": "L898902C3", "country": "UTO"}

Case = Callable[[LocalClient, MakeClient, dict[str, str], dict[str, str]], Reply]
"""(shared client, make_client, keys, headers) -> the reply of one bad request."""


CASES: dict[str, tuple[int, str, Case]] = {
    "body not decodable": (
        400, "bad_request",
        lambda http, make, keys, h: http.request(
            "POST", "/v1/screen", key=keys["fra"], data=b"\xc1{not", headers=h
        ),
    ),
    "no key": (
        401, "unauthorized",
        lambda http, make, keys, h: http.request("GET", "/v1/databases", headers=h),
    ),
    "unknown key": (
        401, "unauthorized",
        lambda http, make, keys, h: http.request(
            "GET", "/v1/databases", key="scr_000000000000_" + "A" * 43, headers=h
        ),
    ),
    "not a bearer header": (
        401, "unauthorized",
        lambda http, make, keys, h: http.request(
            "GET", "/v1/databases", headers={**h, "Authorization": f"Basic {keys['fra']}"}
        ),
    ),
    "role may not": (
        403, "forbidden",
        lambda http, make, keys, h: http.request(
            "POST", "/v1/keys", key=keys["fra"], data=b"", headers=h
        ),
    ),
    "no such route": (
        404, "not_found",
        lambda http, make, keys, h: http.request("GET", "/v1/nothing", key=keys["fra"], headers=h),
    ),
    "wrong method": (
        405, "method_not_allowed",
        lambda http, make, keys, h: http.request("GET", "/v1/screen", key=keys["fra"], headers=h),
    ),
    "body over --max-body": (
        413, "body_too_large",
        lambda http, make, keys, h: make(data=http.service.settings.data, max_body=100).request(
            "POST", "/v1/screen", key=keys["fra"], data=b"x" * 101, headers=h
        ),
    ),
    "chunked body over --max-body": (
        413, "body_too_large",
        lambda http, make, keys, h: make(data=http.service.settings.data, max_body=100).request(
            "POST", "/v1/screen", key=keys["fra"], data=b"x" * 5000, headers=h, chunked=True
        ),
    ),
    "body slower than --request-timeout": (
        408, "request_timeout",
        lambda http, make, keys, h: _half_sent(
            make(data=http.service.settings.data, request_timeout=0.2), keys["fra"], h
        ),
    ),
    "batch over --max-batch": (
        413, "batch_too_large",
        lambda http, make, keys, h: make(data=http.service.settings.data, max_batch=2).request(
            "POST", "/v1/screen", key=keys["fra"], headers=h,
            **_body({"queries": [SPECIMEN] * 3}, h),
        ),
    ),
    "over --rate": (
        429, "rate_limited",
        lambda http, make, keys, h: _twice(
            make(data=http.service.settings.data, rate=1),
            lambda c: c.request("GET", "/v1/databases", key=keys["fra"], headers=h),
        ),
    ),
    "not mapped yet": (
        503, "unavailable",
        lambda http, make, keys, h: _unready(
            make(data=http.service.settings.data),
            lambda c: c.request("GET", "/v1/databases", key=keys["fra"], headers=h),
        ),
    ),
    "key file broken": (
        503, "keys_unavailable",
        lambda http, make, keys, h: _key_file_broken(
            make, http.service.settings.data_dir,
            lambda c, key: c.request(
                "POST", "/v1/keys", key=key, headers=h, **_body({"name": "gate-9"}, h)
            ),
        ),
    ),
    "index fails while answering": (
        503, "unavailable",
        lambda http, make, keys, h: _broken(
            make(data=http.service.settings.data),
            lambda c: c.request(
                "POST", "/v1/screen", key=keys["fra"], headers=h,
                **_body({"queries": [SPECIMEN]}, h),
            ),
            CorruptFileError(Path("seg-000001.seg"), 64, "a slot points outside the keys"),
        ),
    ),
    "a bug": (
        500, "internal",
        lambda http, make, keys, h: _broken(
            make(data=http.service.settings.data),
            lambda c: c.request(
                "POST", "/v1/screen", key=keys["fra"], headers=h,
                **_body({"queries": [SPECIMEN]}, h),
            ),
        ),
    ),
}  # fmt: skip


def _body(payload: object, headers: dict[str, str]) -> dict[str, Any]:
    return {"packed": payload} if headers else {"json": payload}


def _twice(client: LocalClient, send: Callable[[LocalClient], Reply]) -> Reply:
    assert send(client).status == 200
    return send(client)


def _half_sent(client: LocalClient, key: str, headers: dict[str, str]) -> Reply:
    """Headers and half the body they announce, then silence: the answer, read to EOF."""
    return client.loop.run_until_complete(_send_half(client.client.port, key, headers))


async def _send_half(port: int | None, key: str, headers: dict[str, str]) -> Reply:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = {"Host": "localhost", "Authorization": f"Bearer {key}", "Content-Length": "100"}
    lines = [f"{name}: {value}" for name, value in {**head, **headers}.items()]
    writer.write("\r\n".join(["POST /v1/screen HTTP/1.1", *lines, "", '{"queries": ']).encode())
    answer = await asyncio.wait_for(reader.read(), 10)  # the server closes the connection
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    header_block, _, body = rest.partition(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in header_block.decode().split("\r\n"))
    return decode_reply(int(status_line.split()[1]), fields, body)


def _unready(client: LocalClient, send: Callable[[LocalClient], Reply]) -> Reply:
    client.service.live.ready = False
    return send(client)


def _key_file_broken(
    make: MakeClient, data: Path, send: Callable[[LocalClient, str], Reply]
) -> Reply:
    """The key file went bad after the worker read it (the worker keeps the keys it had)."""
    path = Path(tempfile.mkdtemp(dir=data.parent)) / "keys.json"
    key = add_key(path, "ops-1", "XPO", "ops")[0]
    client = make(data=data, keys=path)
    path.write_text("{not json", encoding="utf-8")
    return send(client, key)


def _broken(
    client: LocalClient,
    send: Callable[[LocalClient], Reply],
    error: Exception | None = None,
) -> Reply:
    """`send` while screening raises `error` (by default, a bug)."""

    def boom(queries: Sequence[object], country: str | None = None) -> list[dict[str, Any]]:
        raise error or RuntimeError("a secret detail")

    client.service.live.data.screen = boom  # type: ignore[method-assign]
    return send(client)


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
@pytest.mark.parametrize("case", list(CASES))
def test_error_shape(
    case: str,
    encoding: str,
    http: LocalClient,
    make_client: MakeClient,
    api_keys: dict[str, str],
) -> None:
    status, code, send = CASES[case]
    headers = dict(MSGPACK) if encoding == "msgpack" else {}
    reply = send(http, make_client, api_keys, headers)
    assert reply.status == status, reply
    kind = "application/msgpack" if encoding == "msgpack" else "application/json"
    assert reply.headers["Content-Type"].startswith(kind)
    body = msgpack.unpackb(reply.raw) if encoding == "msgpack" else reply.body
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and len(body["error"]["message"]) > 10


def test_every_request_error_has_a_case() -> None:
    codes = {
        kind.code
        for module in (http_errors, keys)
        for kind in vars(module).values()
        if isinstance(kind, type) and issubclass(kind, ScreeningError)
        and kind.__module__ == module.__name__ and kind is not http_errors.RequestError
    }  # fmt: skip
    assert codes == {code for _, code, _ in CASES.values()}


def test_messages_state_the_limit(
    http: LocalClient, make_client: MakeClient, api_keys: dict[str, str]
) -> None:
    batch = make_client(data=http.service.settings.data, max_batch=2).request(
        "POST", "/v1/screen", key=api_keys["fra"], json={"queries": [SPECIMEN] * 3}
    )
    assert batch.error["message"] == "too many queries in one batch: 3 (limit: 2)"
    body = make_client(data=http.service.settings.data, max_body=100).request(
        "POST", "/v1/screen", key=api_keys["fra"], data=b"x" * 101
    )
    assert body.error["message"] == "request body too large (101 bytes): limit 100 bytes"


def test_error_headers(
    http: LocalClient, make_client: MakeClient, api_keys: dict[str, str]
) -> None:
    assert http.request("GET", "/v1/databases").headers["WWW-Authenticate"].startswith("Bearer")
    assert http.request("GET", "/v1/screen", key=api_keys["fra"]).headers["Allow"] == "POST"
    limited = _twice(
        make_client(data=http.service.settings.data, rate=1),
        lambda c: c.request("GET", "/v1/databases", key=api_keys["fra"]),
    )
    assert limited.headers["Retry-After"] == "1"


def test_a_bug_does_not_leak_its_detail(
    http: LocalClient, make_client: MakeClient, api_keys: dict[str, str]
) -> None:
    reply = _broken(
        make_client(data=http.service.settings.data),
        lambda c: c.request(
            "POST", "/v1/screen", key=api_keys["fra"], json={"queries": [SPECIMEN]}
        ),
    )
    assert "secret" not in reply.error["message"]
    assert "RuntimeError" in reply.error["message"]


def test_bad_query_in_a_batch_is_an_entry_not_an_error(
    http: LocalClient, api_keys: dict[str, str], tmp_path: Path
) -> None:
    reply = http.request(
        "POST",
        "/v1/screen",
        key=api_keys["fra"],
        json={"queries": [SPECIMEN, {"db": "SLTD", "number": 7}]},
    )
    assert reply.status == 200
    assert reply.body["results"][0]["hit"] is True
    assert reply.body["results"][1] == {
        "error": {"code": "bad_query", "message": "queries[1].number: must be text, not int"}
    }
