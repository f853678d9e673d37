"""json_redact: JSON response bodies are buffered and masked; other bodies pass through byte for byte."""

from __future__ import annotations

import json
from typing import Any

from plugin_support import assert_config_rejected, load

from abi.testing import CONTINUE, Harness, Stream
from abi.types import FilterDataStatus

CONFIG: dict[str, Any] = {"fields": ["password", "card.number"], "mask": "[redacted]", "max_body_bytes": 256}
DOCUMENT = {
    "user": {"name": "ada", "password": "hunter2"},
    "card": [{"number": "4111111111111111", "expiry": "12/30"}, {"number": "5500000000000004"}],
    "note": "password is not a key here",
}


def respond(
    h: Harness, content_type: str, chunks: list[bytes], content_length: bool = True, **extra_headers: str
) -> Stream:
    s = h.stream()
    s.send_request_headers({":method": "GET", ":path": "/me", ":authority": "api"}, end_of_stream=True)
    headers = {":status": "200", "content-type": content_type, **extra_headers}
    if content_length:
        headers["content-length"] = str(sum(map(len, chunks)))
    assert s.send_response_headers(headers) == CONTINUE
    for i, chunk in enumerate(chunks):
        s.send_response_body(chunk, end_of_stream=i == len(chunks) - 1)
    s.complete()
    return s


def test_configured_fields_are_masked_across_chunks() -> None:
    h = load("json_redact", CONFIG)
    body = json.dumps(DOCUMENT).encode()
    s = respond(h, "application/json; charset=utf-8", [body[:40], body[40:]])
    assert s.actions[2:] == [
        ("response_body", FilterDataStatus.STOP_ITERATION_AND_BUFFER),
        ("response_body", FilterDataStatus.CONTINUE),
    ]
    assert s.response_header("content-length") is None  # the length changes with the masks
    redacted = json.loads(s.forwarded_response_body)
    assert redacted == {
        "user": {"name": "ada", "password": "[redacted]"},
        "card": [{"number": "[redacted]", "expiry": "12/30"}, {"number": "[redacted]"}],
        "note": "password is not a key here",
    }
    # Key order and everything not masked survive unchanged.
    assert list(redacted) == list(DOCUMENT)
    assert h.errors() == []


def test_other_content_types_pass_untouched() -> None:
    h = load("json_redact", CONFIG)
    body = b'{"password": "visible in text/plain"}'
    s = respond(h, "text/plain", [body])
    assert s.forwarded_response_body == body
    assert s.response_header("content-length") == str(len(body))


def test_compressed_bodies_pass_through_untouched() -> None:
    h = load("json_redact", CONFIG)
    body = b"\x1f\x8b compressed bytes"
    s = respond(h, "application/json", [body], **{"content-encoding": "gzip"})
    assert s.forwarded_response_body == body
    assert s.response_header("content-length") == str(len(body))


def test_bodies_over_the_limit_pass_through_unmodified() -> None:
    h = load("json_redact", CONFIG)
    big = json.dumps({"password": "p", "padding": "x" * 300}).encode()
    declared = respond(h, "application/json", [big])
    assert declared.forwarded_response_body == big
    assert declared.response_header("content-length") == str(len(big))
    # Without a content-length the limit is noticed while buffering; what was held is released as is.
    streamed = respond(h, "application/json", [big[:200], big[200:]], content_length=False)
    assert streamed.forwarded_response_body == big


def test_invalid_json_passes_through_unmodified() -> None:
    h = load("json_redact", CONFIG)
    body = b'{"password": "oops",'
    assert respond(h, "application/problem+json", [body]).forwarded_response_body == body


def test_documents_without_the_fields_are_forwarded_as_they_were() -> None:
    h = load("json_redact", CONFIG)
    body = b'{ "a" : 1.50 }'
    assert respond(h, "application/json", [body]).forwarded_response_body == body


def test_bad_configurations_are_rejected_with_a_logged_reason() -> None:
    assert_config_rejected("json_redact", {"fields": []}, "at least one field")
    assert_config_rejected("json_redact", {"fields": ["a..b"]}, "not a key or a dotted path")
    assert_config_rejected("json_redact", {"fields": ["a"], "max_body_bytes": -1}, "max_body_bytes must be")
