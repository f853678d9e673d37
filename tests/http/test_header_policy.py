"""Header policy without sockets."""

from __future__ import annotations

import uuid

from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo
from gateway.filters.api import HttpFilter, RouteResolver
from gateway.http.header_policy import mutate_request_headers, mutate_response_headers, new_request_id
from gateway.http.settings import HcmSettings, ServerHeaderTransformation


def _settings(**kw: object) -> HcmSettings:
    return HcmSettings(stat_prefix="t", filter_factories=(HttpFilter,), route_resolver=RouteResolver(), **kw)  # type: ignore[arg-type]


def _info() -> StreamInfo:
    return StreamInfo(ConnectionInfo(1, ("192.0.2.7", 5555), ("127.0.0.1", 80)))


def test_request_ids_are_version_4_uuids_and_distinct() -> None:
    ids = {new_request_id() for _ in range(100)}
    assert len(ids) == 100
    parsed = uuid.UUID(next(iter(ids)).decode())
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_request_ids_stay_distinct_across_random_batches() -> None:
    ids = [new_request_id() for _ in range(1000)]  # several refills of the random digits
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 36 and i[14:15] == b"4" and i[19:20] in b"89ab" for i in ids)


def test_xff_trusted_hops_pick_the_client_address() -> None:
    headers = HeaderMap(
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            (b"x-forwarded-for", b"203.0.113.1, 10.0.0.1, 10.0.0.2"),
        ]
    )
    info = _info()
    mutate_request_headers(headers, info, _settings(xff_num_trusted_hops=1))
    assert info.downstream_remote_address == ("10.0.0.1", 0)
    assert headers.get(b"x-forwarded-for") == b"203.0.113.1, 10.0.0.1, 10.0.0.2"  # not appended
    assert headers.get(b"x-forwarded-proto") == b"http"


def test_edge_replaces_external_request_id_unless_preserved() -> None:
    for preserve, kept in ((False, False), (True, True)):
        headers = HeaderMap([(b":method", b"GET"), (b":path", b"/"), (b"x-request-id", b"external")])
        settings = _settings(use_remote_address=True, preserve_external_request_id=preserve)
        mutate_request_headers(headers, _info(), settings)
        assert (headers.get(b"x-request-id") == b"external") is kept
        assert headers.get(b"x-forwarded-for") == b"192.0.2.7"


def test_edge_keeps_the_request_id_of_an_internal_client() -> None:
    headers = HeaderMap([(b":method", b"GET"), (b":path", b"/"), (b"x-request-id", b"from-inside")])
    info = StreamInfo(ConnectionInfo(1, ("10.1.2.3", 5555), ("127.0.0.1", 80)))
    mutate_request_headers(headers, info, _settings(use_remote_address=True))
    assert headers.get(b"x-request-id") == b"from-inside"


def test_upgrade_keeps_its_headers_and_other_hop_by_hop_go() -> None:
    headers = HeaderMap(
        [
            (b":method", b"GET"),
            (b":path", b"/"),
            (b"connection", b"Upgrade, x-drop"),
            (b"upgrade", b"websocket"),
            (b"x-drop", b"1"),
            (b"keep-alive", b"5"),
        ]
    )
    assert mutate_request_headers(headers, _info(), _settings()) == (b"websocket", False)
    assert headers.get(b"upgrade") == b"websocket"
    assert headers.get(b"connection") == b"upgrade"
    assert b"x-drop" not in headers and b"keep-alive" not in headers


def test_keep_alive_or_close_in_any_spelling_goes_and_nominates_nothing() -> None:
    for value in (b"keep-alive", b"Keep-Alive", b"close", b"Close", b"KEEP-ALIVE"):
        headers = HeaderMap([(b":status", b"200"), (b"connection", value), (b"keep-alive", b"5"), (b"x-kept", b"1")])
        mutate_response_headers(headers, 200, _info(), _settings())
        assert b"connection" not in headers and b"keep-alive" not in headers and headers.get(b"x-kept") == b"1"


def test_server_header_transformations() -> None:
    for transformation, expected in (
        (ServerHeaderTransformation.OVERWRITE, b"gateway"),
        (ServerHeaderTransformation.APPEND_IF_ABSENT, b"upstream"),
        (ServerHeaderTransformation.PASS_THROUGH, b"upstream"),
    ):
        headers = HeaderMap([(b":status", b"200"), (b"server", b"upstream"), (b"transfer-encoding", b"chunked")])
        mutate_response_headers(headers, 200, _info(), _settings(server_header_transformation=transformation))
        assert headers.get(b"server") == expected
        assert b"transfer-encoding" not in headers


def test_edge_drops_envoy_control_headers_from_external_clients() -> None:
    headers = HeaderMap(
        [
            (b":method", b"GET"),
            (b":path", b"/"),
            (b"x-envoy-upstream-rq-timeout-ms", b"1"),
            (b"x-envoy-internal", b"true"),
            (b"x-envoy-retry-on", b"5xx"),
            (b"x-keep", b"1"),
        ]
    )
    mutate_request_headers(headers, _info(), _settings(use_remote_address=True))
    assert [n for n, _ in headers if n.startswith(b"x-envoy")] == [b"x-envoy-external-address"]
    assert headers.get(b"x-envoy-external-address") == b"192.0.2.7"
    assert headers.get(b"x-keep") == b"1"


def test_edge_marks_internal_clients() -> None:
    headers = HeaderMap([(b":method", b"GET"), (b":path", b"/"), (b"x-envoy-retry-on", b"5xx")])
    info = StreamInfo(ConnectionInfo(1, ("10.1.2.3", 5555), ("127.0.0.1", 80)))
    mutate_request_headers(headers, info, _settings(use_remote_address=True))
    assert headers.get(b"x-envoy-internal") == b"true"
    assert headers.get(b"x-envoy-retry-on") == b"5xx"  # trusted from an internal client


def test_headers_nominated_by_connection_are_gone_before_they_are_read() -> None:
    headers = HeaderMap(
        [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":path", b"/"),
            (b"connection", b"x-request-id, x-forwarded-for"),
            (b"x-request-id", b"from-client"),
            (b"x-forwarded-for", b"203.0.113.9"),
        ]
    )
    info = _info()
    mutate_request_headers(headers, info, _settings())
    assert b"connection" not in headers and b"x-forwarded-for" not in headers
    assert info.downstream_remote_address == ("192.0.2.7", 5555)  # not the nominated XFF
    assert headers.get(b"x-request-id") not in (None, b"from-client")


def test_server_header_after_a_hop_by_hop_one_is_overwritten_once() -> None:
    headers = HeaderMap([(b":status", b"200"), (b"keep-alive", b"timeout=5"), (b"server", b"up"), (b"server", b"up2")])
    mutate_response_headers(headers, 200, _info(), _settings())
    assert headers.get_all(b"server") == [b"gateway"] and b"keep-alive" not in headers


def test_expect_100_continue_is_reported_and_removed() -> None:
    headers = HeaderMap([(b":method", b"POST"), (b":path", b"/"), (b"expect", b"100-Continue")])
    assert mutate_request_headers(headers, _info(), _settings()) == (None, True)
    assert b"expect" not in headers
