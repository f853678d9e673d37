"""header_rewrite: add/set/remove on request and response headers, with property templates."""

from __future__ import annotations

from plugin_support import assert_config_rejected, load

from abi.testing import CONTINUE

CONFIG = {
    "request": {
        "remove": ["X-Internal"],
        "set": {"x-env": "prod", ":path": "/v2{request.path}"},
        "add": {"x-original-path": "{request.path}", "x-client": "{source.address} port {source.port}"},
    },
    "response": {"remove": ["server"], "set": {"cache-control": "no-store"}, "add": {"x-via": "gateway"}},
}
REQUEST = {":method": "GET", ":path": "/items?id=7", ":authority": "api.example", "x-internal": "secret"}


def test_request_headers_are_removed_set_and_added_from_templates() -> None:
    h = load("header_rewrite", CONFIG)
    s = h.stream(properties={"source.address": "10.1.2.3:5555", "source.port": 5555})
    headers = [*REQUEST.items(), ("x-env", "dev"), ("x-env", "staging")]
    assert s.send_request_headers(headers, end_of_stream=True) == CONTINUE
    assert s.request_header("x-internal") is None
    assert s.request_header_values("x-env") == ["prod"]  # set replaces every value
    # Templates are rendered from the headers as they arrived, before any edit.
    assert s.request_header(":path") == "/v2/items?id=7"
    assert s.request_header("x-original-path") == "/items?id=7"
    assert s.request_header("x-client") == "10.1.2.3:5555 port 5555"
    s.complete()
    assert h.errors() == []


def test_add_keeps_existing_values() -> None:
    h = load("header_rewrite", {"request": {"add": {"x-tag": "b"}}})
    s = h.stream()
    s.send_request_headers([*REQUEST.items(), ("x-tag", "a")], end_of_stream=True)
    assert s.request_header_values("x-tag") == ["a", "b"]


def test_response_headers_are_rewritten() -> None:
    h = load("header_rewrite", CONFIG)
    s = h.stream()
    s.send_request_headers(REQUEST, end_of_stream=True)
    assert s.send_response_headers({":status": "200", "server": "upstream", "x-via": "cdn"}) == CONTINUE
    assert s.response_header("server") is None
    assert s.response_header("cache-control") == "no-store"
    assert s.response_header_values("x-via") == ["cdn", "gateway"]
    assert s.status == 200


def test_absent_properties_render_empty_and_braces_can_be_escaped() -> None:
    h = load("header_rewrite", {"request": {"set": {"x-t": "{{[{no.such.property}]}}"}}})
    s = h.stream()
    s.send_request_headers(REQUEST, end_of_stream=True)
    assert s.request_header("x-t") == "{[]}"


def test_bad_configurations_are_rejected_with_a_logged_reason() -> None:
    assert_config_rejected("header_rewrite", {"request": {"add": {"x": "{oops"}}}, "unclosed")
    assert_config_rejected("header_rewrite", {"response": {"set": {"a b": "1"}}}, "invalid header name")
    assert_config_rejected("header_rewrite", {"requests": {}}, 'unknown field "requests"')
    assert_config_rejected("header_rewrite", "{", "not JSON")
