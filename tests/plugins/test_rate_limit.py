"""rate_limit: a token bucket per key shared through shared data, refilled by the tick timer, 429 when empty."""

from __future__ import annotations

from typing import Any

from plugin_support import assert_config_rejected, load, unique_vm_id

from abi.testing import CONTINUE, Harness, Stream

CONFIG: dict[str, Any] = {"capacity": 3, "refill_tokens": 1, "refill_interval_ms": 1000}


def call(h: Harness, **headers: str) -> Stream:
    """One request; an allowed one also gets its upstream response."""
    s = h.stream()
    request = {":method": "GET", ":path": "/", ":authority": "api", **headers}
    if s.send_request_headers(request, end_of_stream=True) == CONTINUE:
        s.send_response_headers({":status": "200"}, end_of_stream=True)
    s.complete()
    return s


def test_fourth_request_over_a_three_token_bucket_gets_429_with_headers() -> None:
    h = load("rate_limit", CONFIG)
    allowed = [call(h) for _ in range(3)]
    for s, remaining in zip(allowed, ["2", "1", "0"], strict=True):
        assert s.local_reply is None
        assert s.status == 200
        assert s.response_header("x-ratelimit-limit") == "3"
        assert s.response_header("x-ratelimit-remaining") == remaining
        assert s.response_header("x-ratelimit-reset") == "1"
    limited = call(h)
    assert limited.local_reply is not None
    assert limited.status == 429
    assert limited.local_reply.body == b"rate limit exceeded\n"
    assert limited.response_header("retry-after") == "1"
    assert limited.response_header("x-ratelimit-limit") == "3"
    assert limited.response_header("x-ratelimit-remaining") == "0"
    assert limited.response_header("x-ratelimit-reset") == "1"
    assert h.metric("rate_limit.allowed") == 3
    assert h.metric("rate_limit.limited") == 1
    assert h.metric("rate_limit.failed_open") == 0
    assert h.errors() == []


def test_a_tick_refills_the_bucket() -> None:
    h = load("rate_limit", {**CONFIG, "refill_tokens": 2})
    for _ in range(3):
        call(h)
    assert call(h).status == 429
    h.advance_time(0.5)  # no tick yet: still empty
    assert call(h).status == 429
    h.advance_time(0.5)  # the tick at 1 s adds two tokens
    assert [call(h).status for _ in range(3)] == [200, 200, 429]
    h.advance_time(10)  # many ticks: refills cap at the capacity
    assert [call(h).status for _ in range(4)] == [200, 200, 200, 429]
    assert h.metric("rate_limit.limited") == 4


def test_retry_after_counts_down_to_the_next_refill() -> None:
    h = load("rate_limit", {"capacity": 1, "refill_interval_ms": 10_000})
    call(h)
    h.advance_time(3.5)
    limited = call(h)
    assert limited.response_header("retry-after") == "7"
    assert limited.response_header("x-ratelimit-reset") == "7"


def test_keys_come_from_the_configured_header_or_else_the_client_address() -> None:
    h = load("rate_limit", {**CONFIG, "capacity": 1, "key_header": "x-api-key"})
    assert call(h, **{"x-api-key": "alice"}).status == 200
    assert call(h, **{"x-api-key": "alice"}).status == 429
    assert call(h, **{"x-api-key": "bob"}).status == 200
    # Without the header the client's IP is the key (the harness's client is 127.0.0.1).
    assert call(h).status == 200
    assert call(h).status == 429
    s = h.stream(properties={"source.address": "10.9.9.9:1234"})
    s.send_request_headers({":method": "GET", ":path": "/", ":authority": "api"}, end_of_stream=True)
    assert s.local_reply is None


def test_buckets_are_shared_by_every_vm_with_the_same_vm_id() -> None:
    vm_id = unique_vm_id()
    first, second = load("rate_limit", CONFIG, vm_id=vm_id), load("rate_limit", CONFIG, vm_id=vm_id)
    assert [call(first).status, call(second).status, call(first).status] == [200, 200, 200]
    assert call(second).status == 429
    assert first.metric("rate_limit.allowed") == 2
    assert second.metric("rate_limit.limited") == 1


def test_bad_configurations_are_rejected_with_a_logged_reason() -> None:
    assert_config_rejected("rate_limit", {}, "capacity is required")
    assert_config_rejected("rate_limit", {"capacity": 0}, "capacity must be a positive integer")
    assert_config_rejected("rate_limit", {"capacity": 1, "burst": 5}, 'unknown field "burst"')
