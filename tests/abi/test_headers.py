"""Header-map host functions: statuses, pairs layout, lower-casing, availability by phase (reference §7.3, §8.3)."""

from __future__ import annotations

from abi_probe import GET, Probe

from abi.memory import decode_pairs, encode_pairs
from abi.types import MapType, Status

REQ, RESP = MapType.HTTP_REQUEST_HEADERS, MapType.HTTP_RESPONSE_HEADERS
CALL_HEADERS = MapType.HTTP_CALL_RESPONSE_HEADERS


def paused_stream(probe: Probe, headers: dict[str, str] = GET):
    probe.export("set_action", 1)  # pause: the request headers stay available
    stream = probe.h.stream()
    stream.send_request_headers(headers)
    return stream


def test_get_pairs_returns_the_serialized_map(probe: Probe) -> None:
    s = paused_stream(probe, {":method": "GET", "a": "1", "b": "22"})
    out = probe.out()
    assert probe.call("proxy_get_header_map_pairs", REQ, out, out + 4, ctx=s) == Status.OK
    raw = probe.out_buf(out)
    assert raw == encode_pairs([(b":method", b"GET"), (b"a", b"1"), (b"b", b"22")])
    assert raw[:4] == b"\x03\x00\x00\x00" and raw.endswith(b"b\x0022\x00")


def test_get_value_first_of_repeated_and_missing_key(probe: Probe) -> None:
    s = paused_stream(probe, {":method": "GET"} | {"x-dup": "1"})
    s.request_headers.append((b"x-dup", b"2"))
    key = probe.put(b"X-Dup")  # lookups are case-insensitive: keys are lower-cased
    out = probe.out()
    assert probe.call("proxy_get_header_map_value", REQ, key, 5, out, out + 4, ctx=s) == Status.OK
    assert probe.out_buf(out) == b"1"
    missing = probe.put(b"nope")
    assert probe.call("proxy_get_header_map_value", REQ, missing, 4, out, out + 4, ctx=s) == Status.NOT_FOUND


def test_empty_value_is_ok_with_zero_pair(probe: Probe) -> None:
    s = paused_stream(probe, {":method": "GET", "x-empty": ""})
    key, out = probe.put(b"x-empty"), probe.out()
    assert probe.call("proxy_get_header_map_value", REQ, key, 7, out, out + 4, ctx=s) == Status.OK
    assert probe.out_buf(out) is None  # (0, 0): no allocation for empty data


def test_add_replace_remove_edit_the_embedders_list_in_place(probe: Probe) -> None:
    s = paused_stream(probe, {":method": "GET", "x-a": "1"})
    headers = s.request_headers
    k, v = probe.put(b"X-New"), probe.put(b"v1")
    assert probe.call("proxy_add_header_map_value", REQ, k, 5, v, 2, ctx=s) == Status.OK
    assert probe.call("proxy_add_header_map_value", REQ, k, 5, v, 2, ctx=s) == Status.OK
    assert headers[-2:] == [(b"x-new", b"v1"), (b"x-new", b"v1")]
    v2 = probe.put(b"v2")
    assert probe.call("proxy_replace_header_map_value", REQ, k, 5, v2, 2, ctx=s) == Status.OK
    assert [p for p in headers if p[0] == b"x-new"] == [(b"x-new", b"v2")]
    ka = probe.put(b"x-a")
    assert probe.call("proxy_remove_header_map_value", REQ, ka, 3, ctx=s) == Status.OK
    assert probe.call("proxy_remove_header_map_value", REQ, ka, 3, ctx=s) == Status.OK  # absent: still OK
    assert headers is s.request_headers and (b"x-a", b"1") not in headers


def test_replace_adds_when_absent(probe: Probe) -> None:
    s = paused_stream(probe)
    k, v = probe.put(b"x-r"), probe.put(b"1")
    assert probe.call("proxy_replace_header_map_value", REQ, k, 3, v, 1, ctx=s) == Status.OK
    assert s.request_header("x-r") == "1"


def test_set_pairs_replaces_the_whole_map_and_lowercases(probe: Probe) -> None:
    s = paused_stream(probe)
    data = encode_pairs([(b":method", b"POST"), (b"X-Up", b"v")])
    assert probe.call("proxy_set_header_map_pairs", REQ, probe.put(data), len(data), ctx=s) == Status.OK
    assert s.request_headers == [(b":method", b"POST"), (b"x-up", b"v")]


def test_set_pairs_with_malformed_data_clears_the_map(probe: Probe) -> None:
    s = paused_stream(probe)
    bad = encode_pairs([(b"a", b"b")])[:-1] + b"x"  # the value is not NUL-terminated
    assert probe.call("proxy_set_header_map_pairs", REQ, probe.put(bad), len(bad), ctx=s) == Status.OK
    assert s.request_headers == []


def test_map_size_is_envoys_byte_size(probe: Probe) -> None:
    s = paused_stream(probe, {"ab": "cde"})
    out = probe.out(4)
    assert probe.call("proxy_get_header_map_size", REQ, out, ctx=s) == Status.OK
    assert probe.u32(out) == 5


def test_bad_map_type_is_checked_first(probe: Probe) -> None:
    s = paused_stream(probe)
    out = probe.out()
    assert probe.call("proxy_get_header_map_pairs", 8, out, out + 4, ctx=s) == Status.BAD_ARGUMENT
    # even with an invalid key pointer, the map type is rejected first
    assert probe.call("proxy_get_header_map_value", 8, 0xFFFFFFF0, 64, out, out + 4, ctx=s) == Status.BAD_ARGUMENT
    assert probe.call("proxy_add_header_map_value", 99, 0, 0, 0, 0, ctx=s) == Status.BAD_ARGUMENT


def test_unavailable_maps(probe: Probe) -> None:
    """After a headers phase continued, Envoy no longer exposes that map; response maps before they exist."""
    stream = probe.h.stream()
    stream.send_request_headers(GET)  # action 0: continue
    out, key = probe.out(), probe.put(b":path")
    assert probe.call("proxy_get_header_map_value", REQ, key, 5, out, out + 4, ctx=stream) == Status.BAD_ARGUMENT
    assert probe.call("proxy_get_header_map_pairs", RESP, out, out + 4, ctx=stream) == Status.OK
    assert probe.out_buf(out) is None  # unavailable maps read as empty
    assert probe.call("proxy_add_header_map_value", REQ, key, 5, key, 5, ctx=stream) == Status.BAD_ARGUMENT
    size_out = probe.out(4)
    assert probe.call("proxy_get_header_map_size", REQ, size_out, ctx=stream) == Status.BAD_ARGUMENT
    # in a root context there is no stream at all
    assert probe.call("proxy_get_header_map_value", REQ, key, 5, out, out + 4) == Status.BAD_ARGUMENT


def test_invalid_memory_is_reported_without_side_effects(probe: Probe) -> None:
    s = paused_stream(probe)
    before = list(s.request_headers)
    size = probe.memory.size
    good = probe.put(b"x")
    for key_ptr, key_len in ((size - 2, 4), (0xFFFFFFFF, 1), (0x80000000, 0x80000000)):
        status = probe.call("proxy_add_header_map_value", REQ, key_ptr, key_len, good, 1, ctx=s)
        assert status == Status.INVALID_MEMORY_ACCESS
    # a bad output pair address: nothing readable was written, status says so
    assert probe.call("proxy_get_header_map_pairs", REQ, 0xFFFFFFFC, 8, ctx=s) == Status.INVALID_MEMORY_ACCESS
    assert s.request_headers == before


def test_allocator_failure_is_invalid_memory_access(probe: Probe) -> None:
    s = paused_stream(probe)
    out = probe.out()
    probe.export("set_alloc_fail", 1)
    assert probe.call("proxy_get_header_map_pairs", REQ, out, out + 4, ctx=s) == Status.INVALID_MEMORY_ACCESS


def test_callout_response_maps_are_readable_only_during_the_callback(probe: Probe) -> None:
    out = probe.out()
    assert probe.call("proxy_get_header_map_pairs", CALL_HEADERS, out, out + 4) == Status.OK
    assert probe.out_buf(out) is None
    key = probe.put(b":status")
    assert probe.call("proxy_get_header_map_value", CALL_HEADERS, key, 7, out, out + 4) == Status.BAD_ARGUMENT


def test_decode_pairs_round_trip_real_guest_bytes(probe: Probe) -> None:
    s = paused_stream(probe, {"k": "v" * 300})
    out = probe.out()
    probe.call("proxy_get_header_map_pairs", REQ, out, out + 4, ctx=s)
    raw = probe.out_buf(out)
    assert raw is not None
    assert decode_pairs(raw, 1 << 20, 1024) == s.request_headers


def test_log_phase_maps_are_read_only_and_absent_ones_not_found(probe: Probe) -> None:
    s = probe.h.stream()
    s.send_request_headers(GET, end_of_stream=True)
    seen: dict[str, int | bytes | None] = {}
    # proxy_on_log's view of the stream stays until the stream is destroyed: host calls made now see what the
    # plugin's proxy_on_log saw (the guest's own functions, compiled, cannot be wrapped to call from inside).
    s.http.on_log()
    out, key, value = probe.out(), probe.put(b":path"), probe.put(b"v")
    seen["path"] = probe.call("proxy_get_header_map_value", REQ, key, 5, out, out + 4, ctx=s)
    seen["value"] = probe.out_buf(out)
    seen["add"] = probe.call("proxy_add_header_map_value", REQ, key, 5, value, 1, ctx=s)
    seen["response"] = probe.call("proxy_get_header_map_value", RESP, key, 5, out, out + 4, ctx=s)
    s.http.on_destroy()
    assert seen == {"path": Status.OK, "value": b"/p?q=1", "add": Status.BAD_ARGUMENT, "response": Status.NOT_FOUND}
