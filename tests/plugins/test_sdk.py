"""The Rust SDK against the real host: `sdk-rust/examples/probe.wasm` calls one family of host functions per request
path and reports the results in `x-probe-*` request headers, which these tests check."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_support import unique_vm_id

from abi.testing import CONTINUE, STOP, Harness, Stream
from abi.types import LogLevel

EXAMPLES = Path(__file__).resolve().parents[2] / "sdk-rust" / "examples"


@pytest.fixture
def probe() -> Harness:
    return Harness.load(
        EXAMPLES / "probe.wasm",
        configuration=b"100",
        vm_configuration=b"vm-settings",
        vm_id=unique_vm_id(),
        clusters=["backend"],
    )


def get(h: Harness, path: str, **properties: object) -> Stream:
    s = h.stream(properties=properties)
    s.send_request_headers({":method": "GET", ":path": path, ":authority": "api"}, end_of_stream=True)
    return s


def test_lifecycle_reads_vm_configuration_and_routes_to_the_stream_context(probe: Harness) -> None:
    assert "vm configuration: vm-settings" in probe.log_messages(LogLevel.INFO)
    s = get(probe, "/")
    assert s.request_header("x-probe-end-of-stream") == "true"
    s.complete()
    assert probe.errors() == []


def test_shared_data_compare_and_swap(probe: Harness) -> None:
    # first write, value read back, stale CAS refused, fresh CAS accepted, final value, missing key is (None, None)
    assert get(probe, "/shared").request_header("x-probe-shared") == "Ok(()) v1 Err(CasMismatch) Ok(()) v3 true"


def test_metrics_counter_gauge_histogram(probe: Harness) -> None:
    # counter 2 + 3, gauge 10 - 4; a negative counter increment and reading a histogram are refused by the host
    s = get(probe, "/metrics")
    assert s.request_header("x-probe-metrics") == "5 6 Err(BadArgument) Err(BadArgument)"
    assert probe.metric("probe.requests") == 5
    assert probe.metric("probe.level") == 6


def test_properties_get_and_set(probe: Harness) -> None:
    s = get(probe, "/properties", **{"source.address": "10.0.0.9:1234"})
    # integer properties arrive as 8 bytes; unknown paths are None
    assert s.request_header("x-probe-properties") == "/properties 10.0.0.9:1234 Some(8) None"
    assert s.request_header("x-probe-property-roundtrip") == "stored"


def test_time_log_level_grpc_and_foreign_functions(probe: Harness) -> None:
    probe.advance_time(5)
    s = get(probe, "/misc")
    # the harness's clock, its log level, gRPC unimplemented by this host, an unknown foreign function, 4 headers
    assert s.request_header("x-probe-misc") == "1700000005 Ok(Trace) Err(Unimplemented) Err(NotFound) 4"
    assert "misc probe done" in probe.log_messages(LogLevel.DEBUG)


def test_http_callout_answer_reaches_the_stream_that_paused(probe: Harness) -> None:
    s = probe.stream()
    assert s.send_request_headers({":method": "POST", ":path": "/callout", ":authority": "api"}) == STOP
    assert s.send_request_body(b"abc", end_of_stream=True) is None  # held until the plugin resumes
    [call] = probe.pending_http_calls()
    assert (call.cluster, call.header(":path"), call.request.body, call.request.timeout_ms) == (
        "backend",
        "/check",
        b"ping",
        5000,
    )
    call.respond(200, {"x-a": "1"}, b"pong", trailers={"t": "1"})
    # token 4 (the first HTTP callout), status, 2 headers (:status and x-a), the body, 1 trailer
    assert s.request_header("x-probe-callout") == "4 200 2 pong 1 1"
    assert s.continued[0] == 1
    assert s.forwarded_request_body == b"ABC"  # the body callback rewrote the buffered body
    assert "request body now 3 bytes" in probe.log_messages(LogLevel.INFO)


def test_callout_to_an_unknown_cluster_is_an_error_status(probe: Harness) -> None:
    h = Harness.load(EXAMPLES / "probe.wasm", vm_id=unique_vm_id(), clusters=[])
    s = get(h, "/callout")
    assert s.request_header("x-probe-callout") == "BadArgument"
    assert h.http_calls == []


def test_ticks_and_callouts_from_the_root_context(probe: Harness) -> None:
    probe.advance_time(0.25)
    assert probe.log_messages(LogLevel.INFO)[-3:] == ["tick 1", "tick 2", "root dispatched Ok(4)"]
    [call] = probe.pending_http_calls()
    assert call.header(":path") == "/from-root"
    call.respond(204)
    assert "root callout 4 answered 204 with 1 headers" in probe.log_messages(LogLevel.INFO)


def test_shared_queue_notifies_the_registering_root(probe: Harness) -> None:
    get(probe, "/enqueue")
    probe.run_pending()
    assert [m for m in probe.log_messages() if m.startswith("dequeued")] == ["dequeued hello", "dequeued again"]


def test_local_response(probe: Harness) -> None:
    s = get(probe, "/reply")
    assert s.local_reply is not None
    assert (s.status, s.local_reply.body, s.response_header("x-teapot")) == (418, b"short and stout", "yes")


def test_a_panic_is_logged_through_the_host_before_the_trap(probe: Harness) -> None:
    s = get(probe, "/panic")
    assert any("panicked at 'probe panicked on purpose'" in m for m in probe.log_messages(LogLevel.CRITICAL))
    assert [f.phase for f in probe.failures] == ["proxy_on_request_headers"]
    assert s.status == 503  # fail closed


def test_hello_world_example() -> None:
    h = Harness.load(EXAMPLES / "hello_world.wasm", configuration=b"gateway")
    s = h.stream()
    assert s.send_request_headers({":method": "GET", ":path": "/", ":authority": "api"}, end_of_stream=True) == CONTINUE
    s.send_response_headers({":status": "200"}, end_of_stream=True)
    assert s.response_header("x-hello") == "gateway"


def test_a_body_larger_than_the_initial_heap_is_read_and_rewritten(probe: Harness) -> None:
    s = probe.stream()
    s.send_request_headers({":method": "POST", ":path": "/", ":authority": "api"})
    body = b"a" * (4 << 20)  # forces the plugin's allocator to grow memory while the host hands the body over
    s.send_request_body(body, end_of_stream=True)
    assert probe.errors() == []
    assert s.forwarded_request_body == body.upper()
