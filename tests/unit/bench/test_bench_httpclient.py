"""The load generator's HTTP/1.1 framing (no sockets)."""

from __future__ import annotations

import pytest

from bench.httpclient import ProtocolError, parse_head, post_prefix, post_request


def test_a_post_is_the_cached_prefix_plus_length_and_body() -> None:
    prefix = post_prefix("127.0.0.1", 8000, "/commands/cases/open", "tok")

    request = post_request(prefix, b'{"a":1}')

    assert request == (b"POST /commands/cases/open HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
                       b"Authorization: Bearer tok\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 7\r\n\r\n{\"a\":1}")


def test_response_head_gives_status_length_and_connection_close() -> None:
    head = (b"HTTP/1.1 409 Conflict\r\ncontent-type: application/problem+json\r\n"
            b"Content-Length: 120\r\nConnection: close")

    assert parse_head(head) == (409, 120, False, True)


def test_chunked_response_has_no_length() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"

    assert parse_head(head) == (200, None, True, False)


def test_anything_but_an_http_status_line_is_refused() -> None:
    with pytest.raises(ProtocolError):
        parse_head(b"SSH-2.0-OpenSSH_9.2")
