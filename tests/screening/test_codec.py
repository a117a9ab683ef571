"""screening/codec.py: which encoding a request is read and answered in."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from screening.codec import media_type, uses_msgpack

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&^_.+-",
                min_size=1, max_size=12)  # fmt: skip
PARAMETER = st.tuples(TOKEN, TOKEN).map(lambda pair: f"{pair[0]}={pair[1]}")


def _request(headers: dict[str, str], method: str = "POST") -> web.Request:
    return make_mocked_request(method, "/v1/screen", headers=CIMultiDict(headers))


@given(TOKEN, TOKEN, st.lists(PARAMETER, max_size=3), st.sampled_from(["", " ", "  "]))
def test_media_type_is_what_aiohttp_parses(
    kind: str, subtype: str, parameters: list[str], space: str
) -> None:
    header = f"{kind}/{subtype}" + "".join(f";{space}{parameter}" for parameter in parameters)
    request = _request({"Content-Type": header})
    assert media_type(request) == request.content_type


def test_no_content_type_is_json() -> None:
    request = _request({})
    assert media_type(request) == ""
    assert not uses_msgpack(request)


def test_msgpack_spellings_with_parameters_and_any_case() -> None:
    for header in ("application/msgpack", "Application/X-MsgPack ; q=1", "application/vnd.msgpack"):
        assert uses_msgpack(_request({"Content-Type": header})), header
    assert not uses_msgpack(_request({"Content-Type": "application/json; charset=utf-8"}))


def test_a_get_asks_for_msgpack_by_accept() -> None:
    assert uses_msgpack(_request({"Accept": "application/msgpack"}, method="GET"))
    assert not uses_msgpack(_request({"Accept": "application/json"}, method="GET"))
