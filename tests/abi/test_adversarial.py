"""The host contains plugins that misbehave on purpose (fixtures in tests/wasm/adversarial/, see its README).

Stream fixtures misbehave only when the request carries `x-trigger` and otherwise mark the request with
`x-survivor: <fixture>`, so "the next stream works" means it went through a rebuilt, working VM.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import pytest
import wasmtime

from abi.errors import PluginLoadError
from abi.limits import MIB, Limits
from abi.plugin import FAIL_DETAILS
from abi.testing import CONTINUE, STOP, Harness, Stream
from abi.types import FailurePolicy

FIXTURES = Path(__file__).resolve().parents[1] / "wasm" / "adversarial"
REQUEST = {":method": "GET", ":path": "/", ":authority": "example.com", ":scheme": "http"}
# Short deadline and small memory keep the failures quick. huge_headers needs room for its 16 MiB blob, and
# time for ~1000 host calls on a busy machine: the limits, not the deadline, must be what stops it.
FAST = Limits(callback_deadline_ms=30, max_memory_bytes=32 * MIB)
ROOMY = Limits(callback_deadline_ms=2_000, max_memory_bytes=64 * MIB)
GRPC_UNAVAILABLE = 14


@functools.cache
def wasm(fixture: str) -> bytes:
    return bytes(wasmtime.wat2wasm((FIXTURES / f"{fixture}.wat").read_text()))


def load(fixture: str, limits: Limits = FAST, **options: object) -> Harness:
    return Harness.load(wasm(fixture), name=fixture, limits=limits, clusters={"upstream"}, **options)


def triggered(h: Harness, trigger: str) -> Stream:
    s = h.stream()
    s.send_request_headers({**REQUEST, "x-trigger": trigger})
    return s


def finish(s: Stream) -> None:
    """Drive the rest of an ordinary exchange, stopping once a local reply or a reset ended it."""
    steps = (
        lambda: s.send_request_body(b"request", end_of_stream=False),
        lambda: s.send_request_trailers({"x-request-trailer": "1"}),
        lambda: s.send_response_headers({":status": "200"}),
        lambda: s.send_response_body(b"response", end_of_stream=False),
        lambda: s.send_response_trailers({"x-response-trailer": "1"}),
    )
    for step in steps:
        if s.local_reply is not None or s.reset_details is not None:
            break
        step()
    s.complete()


def assert_next_stream_works(h: Harness, fixture: str) -> None:
    s = h.stream()
    assert s.send_request_headers(REQUEST) == CONTINUE
    assert s.request_header("x-survivor") == fixture
    finish(s)
    assert s.status == 200 and s.local_reply is None and s.reset_details is None


def assert_failed_closed(s: Stream) -> None:
    assert s.local_reply is not None
    assert (s.local_reply.status, s.local_reply.details, s.local_reply.grpc_status) == (
        503,
        FAIL_DETAILS,
        GRPC_UNAVAILABLE,
    )
    assert s.status == 503


# -- load-time failures are configuration errors -----------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "cause"),
    [
        ("memory_too_large", r"memory minimum size of 20000 pages exceeds memory limits"),
        ("configure_false", r"proxy_on_configure returned false"),
        ("unknown_import", r"unknown import env\.proxy_does_not_exist"),
        ("trap_on_vm_start", r"trap.*unreachable"),
        ("trap_in_start", r"trap.*unreachable"),
        ("trap_in_initialize", r"trap.*unreachable"),
        ("no_abi_marker", r"missing or unknown proxy-wasm ABI version"),
    ],
)
def test_load_failure_is_a_configuration_error(fixture: str, cause: str) -> None:
    with pytest.raises(PluginLoadError, match=f"'{fixture}'.*{cause}"):
        load(fixture)
    # Nothing else is affected: the next plugin loads and serves.
    assert_next_stream_works(load("trap_in_callback"), "trap_in_callback")


# -- CPU deadline and memory limit -------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_infinite_loop_is_interrupted_and_fails_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    h = load("loop_forever")
    with caplog.at_level(logging.ERROR, logger="abi"):
        s = triggered(h, "spin")
    assert_failed_closed(s)
    assert s.request_header("x-survivor") is None
    [failure] = h.failures
    assert (failure.plugin, failure.kind, failure.phase) == ("loop_forever", "deadline", "proxy_on_request_headers")
    assert h.stats.vm_failures == 1 and h.stats.streams_failed_closed == 1
    assert any("'loop_forever'" in r.getMessage() and "deadline" in r.getMessage() for r in caplog.records)
    finish(s)
    assert_next_stream_works(h, "loop_forever")
    assert h.stats.vm_rebuilds == 1


@pytest.mark.timeout(30)
def test_infinite_loop_with_fail_open_skips_the_plugin() -> None:
    h = load("loop_forever", failure_policy=FailurePolicy.FAIL_OPEN)
    s = triggered(h, "spin")
    assert s.local_reply is None
    finish(s)
    assert s.status == 200 and s.forwarded_response_body == b"response"
    assert h.stats.streams_failed_open == 1 and h.stats.streams_failed_closed == 0
    assert_next_stream_works(h, "loop_forever")


@pytest.mark.timeout(30)
def test_repeated_failures_rebuild_with_backoff() -> None:
    h = load("loop_forever")
    for _ in range(2):
        finish(triggered(h, "spin"))
    assert h.stats.vm_failures == 2
    # Within the backoff no VM is built: the stream fails without reaching the guest.
    waiting = h.stream()
    waiting.send_request_headers(REQUEST)
    assert_failed_closed(waiting)
    assert h.stats.vm_failures == 2 and h.stats.vm_rebuilds == 1
    h.advance_time(FAST.reload_backoff_base_s)
    assert_next_stream_works(h, "loop_forever")
    assert h.stats.vm_rebuilds == 2


def test_memory_bomb_stops_at_the_limit_and_fails_the_stream() -> None:
    h = load("memory_bomb")
    s = triggered(h, "grow")
    assert_failed_closed(s)
    [failure] = h.failures
    assert failure.kind == "memory"
    assert f"memory limit of {FAST.max_memory_bytes} bytes" in failure.message
    finish(s)
    assert_next_stream_works(h, "memory_bomb")


# -- bad pointers and oversized writes ---------------------------------------------------------------


def test_bad_pointers_get_invalid_memory_access_without_side_effects() -> None:
    h = load("bad_pointers")
    s = h.stream()
    assert s.send_request_headers({**REQUEST, "x-trigger": "value longer than six bytes"}) == CONTINUE
    # One letter per call: 'A' = OK for (0, 0), 'G' = INVALID_MEMORY_ACCESS for the 14 bad ranges, then
    # 'A' = the canary at the end of memory survived the negative output pointer.
    assert s.request_header("x-statuses") == "A" + "G" * 14 + "A"
    assert s.request_header("x-bad") is None
    assert s.request_header(":path") == "/"  # the map was not cleared
    assert s.local_reply is None and h.http_calls == [] and h.failures == []
    finish(s)
    assert s.status == 200


def test_pairs_with_a_lying_count_decode_as_an_empty_map() -> None:
    h = load("huge_headers", limits=ROOMY)
    s = triggered(h, "pairs")
    # As the C++ host: malformed pairs are an empty map and the call succeeds; nothing is allocated for
    # the 0x7FFFFFFF claimed pairs.
    assert s.request_headers == [(b"x-trigger", b"A")]
    assert h.failures == []


@pytest.mark.parametrize("attack", ["value", "key", "many"])
def test_huge_header_writes_are_refused(attack: str) -> None:
    h = load("huge_headers", limits=ROOMY)
    s = triggered(h, attack)
    size = sum(len(k) + len(v) for k, v in s.request_headers)
    assert len(s.request_headers) <= ROOMY.max_pairs_count and size <= ROOMY.max_pairs_bytes
    assert s.request_header("x-trigger") == "C"  # the refusing call got BAD_ARGUMENT
    assert s.local_reply is None and h.failures == []


# -- a trap in each callback -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("letter", "phase"),
    [
        ("h", "proxy_on_request_headers"),
        ("a", "proxy_on_request_headers"),  # inside the allocator, during proxy_get_header_map_pairs
        ("b", "proxy_on_request_body"),
        ("t", "proxy_on_request_trailers"),
    ],
)
def test_trap_in_request_path_fails_the_stream_with_503(letter: str, phase: str) -> None:
    h = load("trap_in_callback")
    s = triggered(h, letter)
    finish(s)
    assert_failed_closed(s)
    assert s.forwarded_response_body == b""
    [failure] = h.failures
    assert failure.phase == phase
    assert "unreachable" in failure.message
    assert h.stats.streams_failed_closed == 1
    assert_next_stream_works(h, "trap_in_callback")


@pytest.mark.parametrize(
    ("letter", "message"),
    [
        ("h", "unreachable"),
        ("a", "unreachable"),  # a guest trap inside a host call is still the guest's trap
        ("s", "call stack exhausted"),
    ],
)
def test_guest_trap_is_reported_as_a_trap(letter: str, message: str) -> None:
    h = load("trap_in_callback")
    s = triggered(h, letter)
    assert [f.kind for f in h.failures] == ["trap"]
    assert message in h.failures[0].message
    assert_failed_closed(s)
    finish(s)
    assert_next_stream_works(h, "trap_in_callback")


@pytest.mark.parametrize(
    ("letter", "phase"),
    [
        ("H", "proxy_on_response_headers"),
        ("B", "proxy_on_response_body"),
        ("T", "proxy_on_response_trailers"),
    ],
)
def test_trap_in_response_path_fails_the_stream(letter: str, phase: str) -> None:
    h = load("trap_in_callback")
    s = triggered(h, letter)
    finish(s)
    # The response has started: the 503 cannot replace it, so the stream is reset instead.
    assert s.reset_details is not None or s.status == 503
    assert [f.phase for f in h.failures] == [phase]
    assert h.stats.streams_failed_closed == 1
    assert_next_stream_works(h, "trap_in_callback")


@pytest.mark.parametrize(
    ("letter", "phase"),
    [
        ("l", "proxy_on_log"),
        ("d", "proxy_on_done"),
        ("x", "proxy_on_delete"),
    ],
)
def test_trap_after_the_stream_ended_rebuilds_the_vm(letter: str, phase: str) -> None:
    h = load("trap_in_callback")
    s = triggered(h, letter)
    finish(s)
    assert s.forwarded_response_body == b"response"
    assert [f.phase for f in h.failures] == [phase]
    assert_next_stream_works(h, "trap_in_callback")
    assert h.stats.vm_rebuilds == 1


@pytest.mark.parametrize("letter", ["l", "d", "x"])
def test_trap_after_the_stream_ended_leaves_its_response_alone(letter: str) -> None:
    h = load("trap_in_callback")
    s = triggered(h, letter)
    finish(s)
    assert s.local_replies == [] and s.reset_details is None


@pytest.mark.parametrize("letter", ["h", "a"])
def test_failed_request_headers_callback_stops_the_chain(letter: str) -> None:
    h = load("trap_in_callback")
    assert h.stream().send_request_headers({**REQUEST, "x-trigger": letter}) == STOP


def test_trap_in_callout_response_fails_the_paused_stream() -> None:
    h = load("trap_in_callback")
    s = triggered(h, "c")
    assert s.send_request_body(b"held", end_of_stream=True) is None  # paused for the callout
    [call] = h.http_calls
    assert (call.cluster, call.header(":authority")) == ("upstream", "upstream")
    call.respond(200)
    assert [f.phase for f in h.failures] == ["proxy_on_http_call_response"]
    assert_failed_closed(s)
    assert s.forwarded_request_body == b""  # the held body never went upstream
    assert_next_stream_works(h, "trap_in_callback")


def test_trap_in_callout_response_with_fail_open_resumes_the_stream() -> None:
    h = load("trap_in_callback", failure_policy=FailurePolicy.FAIL_OPEN)
    s = triggered(h, "c")
    s.send_request_body(b"held", end_of_stream=True)
    h.http_calls[0].respond(200)
    assert s.continued == [1, 0] and s.forwarded_request_body == b"held"
    assert s.local_reply is None
    assert_next_stream_works(h, "trap_in_callback")


def test_trap_in_tick_rebuilds_the_vm_without_touching_streams() -> None:
    h = load("trap_in_callback")
    s = triggered(h, "k")
    finish(s)
    assert s.status == 200 and s.local_replies == []
    h.advance_time(0.05)
    assert [f.phase for f in h.failures] == ["proxy_on_tick"]
    assert_next_stream_works(h, "trap_in_callback")
    assert h.stats.vm_rebuilds == 1


@pytest.mark.parametrize("letter", list("hasbtHBTldxk"))
def test_fail_open_serves_the_upstream_response_whatever_traps(letter: str) -> None:
    h = load("trap_in_callback", failure_policy=FailurePolicy.FAIL_OPEN)
    s = triggered(h, letter)
    finish(s)
    h.advance_time(0.05)
    assert len(h.failures) == 1
    assert s.status == 200
    assert s.local_replies == [] and s.reset_details is None
    assert_next_stream_works(h, "trap_in_callback")


@pytest.mark.parametrize("letter", ["b", "B"])
def test_fail_open_trap_in_body_forwards_each_byte_once(letter: str) -> None:
    h = load("trap_in_callback", failure_policy=FailurePolicy.FAIL_OPEN)
    s = triggered(h, letter)
    finish(s)
    assert (s.forwarded_request_body, s.forwarded_response_body) == (b"request", b"response")


# -- duplicate and recursive local responses ---------------------------------------------------------


def test_two_local_responses_in_one_callback_answer_with_the_first() -> None:
    h = load("local_response_twice")
    s = triggered(h, "d")
    s.complete()
    assert s.response_header_values(":status") == ["403"]
    assert s.forwarded_response_body == b"first"
    assert h.failures == []
    assert_next_stream_works(h, "local_response_twice")


def test_local_response_stops_the_request_even_after_its_reply_ran() -> None:
    h = load("local_response_twice")
    assert h.stream().send_request_headers({**REQUEST, "x-trigger": "d"}) == STOP


def test_recursive_local_response_terminates_with_one_whole_reply() -> None:
    h = load("local_response_twice")
    s = triggered(h, "R")
    s.complete()
    # The reply's own response path asked for another reply once; as in Envoy, that one goes straight to the
    # client (no filter runs again), so the recursion ends and the stream does not hang.
    assert [r.status for r in s.local_replies] == [403, 500]
    assert s.response_header_values(":status") == ["500"]
    assert s.forwarded_response_body == b"again"
    assert h.failures == []
    assert_next_stream_works(h, "local_response_twice")


def test_local_response_after_response_headers_went_out_resets_the_stream() -> None:
    h = load("local_response_twice")
    s = triggered(h, "b")
    s.send_response_headers({":status": "200"})
    s.send_response_body(b"upstream", end_of_stream=True)
    s.complete()
    assert s.reset_details is not None
    assert s.status == 200  # the 500 could not replace headers already sent
    assert h.failures == []
    assert_next_stream_works(h, "local_response_twice")


def test_local_response_from_response_headers_replaces_the_upstream_response() -> None:
    h = load("local_response_twice")
    s = triggered(h, "r")
    s.send_response_headers({":status": "200"})
    s.send_response_body(b"upstream", end_of_stream=True)
    s.complete()
    assert s.status == 502 and s.forwarded_response_body == b"replaced"
    assert s.reset_details is None
