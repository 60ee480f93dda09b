"""``orderfactory serve`` as a client meets it, through raw sockets (#18 items 8 and 10): what gunicorn itself
refuses is a JSON:API error, every query string the API takes fits the request line it reads, and HEAD
answers as GET without a body."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from orderfactory.jsonapi import query
from orderfactory.server import LIMIT_REQUEST_LINE
from tests.conftest import JSONAPI
from tests.test_worker import orderfactory, wait_for

LONGEST_METHOD = "OPTIONS"
LONGEST_PATH = "/api/" + "/".join(["a" * 64] * 4)  # orderfactory.api routes at most 4 segments of 64


@pytest.fixture(scope="module")
def port(django_db_setup: Any, tmp_path_factory: Any) -> Iterator[int]:
    """One server for the module, on this run's test database (the tests commit what they create)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    logs = tmp_path_factory.mktemp("serve")
    with orderfactory(logs, "serve", "--port", str(free), "--threads", "2", "--no-worker") as server:

        def up() -> bool:
            try:
                socket.create_connection(("127.0.0.1", free), timeout=0.5).close()
            except OSError:
                return False
            return True

        wait_for(up, "the server listens", processes=(server,))
        yield free


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` and read the answer until the server closes (every request here says Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def request(method: str, target: str, token: str = "", extra: str = "") -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {JSONAPI}\r\n{auth}{extra}"
        "Connection: close\r\n\r\n"
    ).encode("latin-1")


def json_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, Any]:
    assert status == expected, (status, body[:300])
    assert headers["content-type"] == JSONAPI, headers
    assert int(headers["content-length"]) == len(body)
    [error] = orjson.loads(body)["errors"]
    assert error["status"] == str(expected)
    return error


def test_the_longest_query_the_api_takes_fits_the_request_line() -> None:
    longest = f"{LONGEST_METHOD} {LONGEST_PATH}?{'q' * query.MAX_QUERY_STRING} HTTP/1.1"
    assert len(longest) <= LIMIT_REQUEST_LINE


def test_what_gunicorn_refuses_is_json(port: int) -> None:
    """A request line over 4,094 bytes was gunicorn's HTML 414, big headers its HTML 431, raw non-ASCII in the
    request line its HTML 400."""
    error = json_error(*exchange(port, request("GET", "/api/skus?" + "a" * LIMIT_REQUEST_LINE)), 414)
    assert error["code"] == "URI_TOO_LONG"
    big = request("GET", "/api/skus", extra=f"X-Big: {'b' * 9000}\r\n")
    assert json_error(*exchange(port, big), 431)["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    many = request("GET", "/api/skus", extra="".join(f"X-{i}: 1\r\n" for i in range(120)))
    assert json_error(*exchange(port, many), 431)["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    for raw in (
        b"GET /api/sk\xffus HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/skus?a=\xe2\x82\xac HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"GET /api/skus HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /api/skus HTTP/1.1\r\nBad Header: x\r\n\r\n",
    ):
        assert json_error(*exchange(port, raw), 400)["code"] == "BAD_REQUEST"


@pytest.mark.django_db(transaction=True)  # the server reads what the test commits
def test_every_query_the_api_takes_reaches_it(api: Any, port: int) -> None:
    """100 ids in filter[q][id_in] is about 1.3 KB; the whole budget of a query string reaches the API."""
    ids = ",".join(f"{i:010d}" for i in range(100)).replace(",", "%2C")
    target = f"/api/price_lists?filter%5Bq%5D%5Bid_in%5D={ids}&include=prices&page%5Bsize%5D=25&sort=-name"
    status, _, body = exchange(port, request("GET", target, api.token))
    assert status == 200, body[:300]
    filler = "&filter%5Bq%5D%5Bname_not_eq%5D="
    padded = target + filler + "x" * (query.MAX_QUERY_STRING - len(target.split("?", 1)[1]) - len(filler))
    assert len(padded.split("?", 1)[1]) == query.MAX_QUERY_STRING
    status, _, body = exchange(port, request("GET", padded, api.token))
    assert status == 200, body[:300]
    longest = f"{LONGEST_PATH}?{padded.split('?', 1)[1]}"
    json_error(*exchange(port, request(LONGEST_METHOD, longest, api.token)), 404)  # the API's answer
    assert json_error(*exchange(port, request("GET", padded + "x", api.token)), 414)["code"] == "URI_TOO_LONG"


@pytest.mark.django_db(transaction=True)  # the server reads what the test commits
def test_head_through_the_server(api: Any, port: int) -> None:
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    get = exchange(port, request("GET", "/api/price_lists", api.token))
    head = exchange(port, request("HEAD", "/api/price_lists", api.token))
    assert get[0] == head[0] == 200
    assert head[2] == b""
    assert head[1]["content-length"] == get[1]["content-length"] == str(len(get[2]))
    assert head[1]["content-type"] == get[1]["content-type"] == JSONAPI
