"""ext_authz: an HTTP callout decides; 2xx allows (copying headers), other answers deny, failures follow the mode."""

from __future__ import annotations

from typing import Any

from plugin_support import assert_config_rejected, load

from abi.testing import CONTINUE, STOP, Harness, HttpCall, Stream

CONFIG: dict[str, Any] = {
    "cluster": "authz",
    "authority": "authz.internal",
    "path_prefix": "/check",
    "timeout_ms": 250,
    "allowed_request_headers": ["authorization", "cookie"],
    "allowed_upstream_headers": ["x-user-id"],
    "allowed_client_headers": ["www-authenticate"],
}
REQUEST = {
    ":method": "POST",
    ":path": "/orders?id=1",
    ":authority": "api",
    "authorization": "Bearer abc",
    "x-not-forwarded": "1",
}


def start(h: Harness) -> tuple[Stream, HttpCall]:
    s = h.stream()
    assert s.send_request_headers(REQUEST) == STOP
    [call] = h.pending_http_calls()
    return s, call


def test_the_check_request_carries_the_original_method_path_and_allowed_headers() -> None:
    h = load("ext_authz", CONFIG, clusters=["authz"])
    _, call = start(h)
    assert call.cluster == "authz"
    assert call.request.timeout_ms == 250
    assert call.header(":method") == "POST"
    assert call.header(":path") == "/check/orders?id=1"
    assert call.header(":authority") == "authz.internal"
    assert call.header("authorization") == "Bearer abc"
    assert call.header("cookie") is None
    assert call.header("x-not-forwarded") is None


def test_a_2xx_answer_resumes_the_request_with_copied_headers() -> None:
    h = load("ext_authz", CONFIG, clusters=["authz"])
    s, call = start(h)
    assert s.send_request_body(b"payload", end_of_stream=True) is None  # held while the check runs
    call.respond(200, {"x-user-id": "u-7", "x-internal-note": "nope"})
    assert s.continued[0] == 1
    assert s.local_reply is None
    assert s.request_header("x-user-id") == "u-7"
    assert s.request_header("x-internal-note") is None
    assert s.forwarded_request_body == b"payload"
    assert h.errors() == []


def test_a_denial_is_passed_to_the_client_with_its_status_body_and_allowed_headers() -> None:
    h = load("ext_authz", CONFIG, clusters=["authz"])
    s, call = start(h)
    call.respond(401, {"www-authenticate": "Bearer realm=api", "x-debug": "secret"}, b"who are you?")
    assert s.continued[0] == 0
    assert s.local_reply is not None
    assert s.status == 401
    assert s.local_reply.body == b"who are you?"
    assert s.response_header("www-authenticate") == "Bearer realm=api"
    assert s.response_header("x-debug") is None


def test_failures_reject_by_default() -> None:
    h = load("ext_authz", CONFIG, clusters=["authz"])
    for fail in (lambda c: c.fail(), lambda c: c.respond(503)):
        s, call = start(h)
        fail(call)
        assert s.status == 403
        assert s.continued[0] == 0
    assert any("rejecting" in m for m in h.log_messages())


def test_a_timeout_rejects_or_allows_per_the_failure_mode() -> None:
    closed = load("ext_authz", CONFIG, clusters=["authz"])
    s, _ = start(closed)
    closed.advance_time(0.25)  # the harness answers an expired callout with 504, as Envoy does
    assert s.status == 403
    opened = load("ext_authz", {**CONFIG, "failure_mode_allow": True}, clusters=["authz"])
    s, _ = start(opened)
    opened.advance_time(0.25)
    assert s.local_reply is None
    assert s.continued[0] == 1


def test_failure_mode_allow_lets_requests_through_when_the_call_fails() -> None:
    h = load("ext_authz", {**CONFIG, "failure_mode_allow": True, "status_on_error": 503}, clusters=["authz"])
    s, call = start(h)
    call.fail()
    assert s.continued[0] == 1
    assert s.local_reply is None


def test_an_unknown_cluster_fails_at_once() -> None:
    h = load("ext_authz", {**CONFIG, "cluster": "missing", "status_on_error": 503}, clusters=["authz"])
    s = h.stream()
    assert s.send_request_headers(REQUEST) != CONTINUE
    assert h.http_calls == []
    assert s.status == 503
    opened = load("ext_authz", {**CONFIG, "cluster": "missing", "failure_mode_allow": True}, clusters=["authz"])
    assert opened.stream().send_request_headers(REQUEST) == CONTINUE


def test_bad_configurations_are_rejected_with_a_logged_reason() -> None:
    assert_config_rejected("ext_authz", {"timeout_ms": 10}, "cluster is required")
    assert_config_rejected("ext_authz", {"cluster": "a", "timeout_ms": 0}, "timeout_ms must be")
    assert_config_rejected("ext_authz", {"cluster": "a", "fail_open": 1}, 'unknown field "fail_open"')


def test_an_answer_arriving_after_the_stream_ended_is_dropped_quietly() -> None:
    h = load("ext_authz", CONFIG, clusters=["authz"])
    s, call = start(h)
    s.complete()  # the client went away while the check was running
    call.respond(200, {"x-user-id": "u-7"})
    assert h.errors() == []
    assert h.stats.vm_failures == 0
    s2, call2 = start(h)  # the VM is still healthy for the next request
    call2.respond(204)
    assert s2.continued[0] == 1
