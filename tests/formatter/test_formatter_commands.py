"""Every command operator against a StreamInfo built by hand, in text and typed JSON forms."""

from __future__ import annotations

import calendar
import json
import socket
import time

import pytest

from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo
from gateway.formatter import DEFAULT_FORMAT, compile_format, compile_json_format

# 2024-03-05T06:07:08.123456789Z
START = calendar.timegm((2024, 3, 5, 6, 7, 8, 0, 0, 0)) + 0.123456


def make_info() -> StreamInfo:
    info = StreamInfo(
        ConnectionInfo(
            connection_id=42,
            remote_address=("10.1.2.3", 50000),
            local_address=("127.0.0.1", 8080),
            requested_server_name="shop.example.com",
            tls_version="TLSv1.3",
        ),
        start_time=START,
        start_monotonic=100.0,
    )
    info.downstream_remote_address = ("203.0.113.9", 0)
    info.request_headers = HeaderMap(
        [
            (b":method", b"POST"),
            (b":path", b"/cart/items?id=7"),
            (b":authority", b"shop.example.com"),
            (b"user-agent", b"curl/8.0"),
            (b"x-multi", b"a"),
            (b"x-multi", b"b"),
            (b"x-utf8", "caf\u00e9".encode()),
        ]
    )
    info.response_headers = HeaderMap([(b":status", b"201"), (b"x-envoy-upstream-service-time", b"12")])
    info.response_trailers = HeaderMap([(b"grpc-status", b"0")])
    info.response_code = 201
    info.response_code_details = "via_upstream"
    info.set_flag(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT)
    info.set_flag(ResponseFlag.NO_HEALTHY_UPSTREAM)
    info.bytes_received = 17
    info.bytes_sent = 2048
    info.route_name = "cart_route"
    info.cluster_name = "cart_cluster"
    info.upstream_host = "10.9.9.9:8080"
    info.upstream_local_address = "10.0.0.2:41000"
    info.upstream_transport_failure_reason = "tls handshake"
    info.attempt_count = 2
    info.request_id = "req-1"
    # Half a millisecond past each mark, so that truncation to whole milliseconds never meets float rounding.
    info.last_downstream_rx_byte = 100.0055
    info.last_upstream_tx_byte = 100.0065
    info.first_upstream_rx_byte = 100.0305
    info.last_downstream_tx_byte = 100.0458
    info.end_monotonic = 100.0505
    return info


def bare_info() -> StreamInfo:
    return StreamInfo(ConnectionInfo(1, ("::1", 4000), ("::1", 80)), start_time=START, start_monotonic=5.0)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("%REQ(:METHOD)%", "POST"),
        ("%REQ(:path)%", "/cart/items?id=7"),
        ("%REQ_WITHOUT_QUERY(:PATH)%", "/cart/items"),
        ("%REQUEST_HEADER(User-Agent)%", "curl/8.0"),
        ("%REQ(HOST)%", "shop.example.com"),
        ("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "/cart/items?id=7"),
        ("%REQ(X-MISSING?USER-AGENT)%", "curl/8.0"),
        ("%REQ(X-MULTI)%", "a,b"),
        ("%REQ(X-UTF8)%", "caf\u00e9"),
        ("%REQ(USER-AGENT):4%", "curl"),
        ("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "12"),
        ("%RESPONSE_HEADER(:status)%", "201"),
        ("%TRAILER(GRPC-STATUS)%", "0"),
        ("%RESPONSE_TRAILER(grpc-status)%", "0"),
        ("%START_TIME%", "2024-03-05T06:07:08.123Z"),
        ("%START_TIME(%Y/%m/%d %H:%M:%S)%", "2024/03/05 06:07:08"),
        ("%START_TIME(%s)%", str(int(START))),
        ("%START_TIME(%S.%3f|%6f|%1f)%", "08.123|123456|1"),
        ("%START_TIME(%E6S %%s)%", "08.123456 %s"),
        ("%RESPONSE_CODE%", "201"),
        ("%RESPONSE_CODE_DETAILS%", "via_upstream"),
        ("%RESPONSE_FLAGS%", "UH,UT"),
        ("%DURATION%", "50"),
        ("%REQUEST_DURATION%", "5"),
        ("%REQUEST_TX_DURATION%", "6"),
        ("%RESPONSE_DURATION%", "30"),
        ("%RESPONSE_TX_DURATION%", "15"),
        ("%BYTES_RECEIVED%", "17"),
        ("%BYTES_SENT%", "2048"),
        ("%PROTOCOL%", "HTTP/1.1"),
        ("%UPSTREAM_HOST%", "10.9.9.9:8080"),
        ("%UPSTREAM_REMOTE_ADDRESS%", "10.9.9.9:8080"),
        ("%UPSTREAM_CLUSTER%", "cart_cluster"),
        ("%UPSTREAM_LOCAL_ADDRESS%", "10.0.0.2:41000"),
        ("%UPSTREAM_TRANSPORT_FAILURE_REASON%", "tls handshake"),
        ("%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "2"),
        ("%DOWNSTREAM_REMOTE_ADDRESS%", "203.0.113.9:0"),
        ("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "203.0.113.9"),
        ("%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%", "10.1.2.3:50000"),
        ("%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%", "10.1.2.3"),
        ("%DOWNSTREAM_DIRECT_REMOTE_PORT%", "50000"),
        ("%DOWNSTREAM_LOCAL_ADDRESS%", "127.0.0.1:8080"),
        ("%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "127.0.0.1"),
        ("%DOWNSTREAM_LOCAL_PORT%", "8080"),
        ("%REQUESTED_SERVER_NAME%", "shop.example.com"),
        ("%DOWNSTREAM_TLS_VERSION%", "TLSv1.3"),
        ("%ROUTE_NAME%", "cart_route"),
        ("%CONNECTION_ID%", "42"),
        ("%STREAM_ID%", "req-1"),
        ("100%% %PROTOCOL%%%", "100% HTTP/1.1%"),
    ],
)
def test_command_text(template: str, expected: str) -> None:
    assert compile_format(template).format(make_info()) == expected


@pytest.mark.parametrize(
    "template",
    [
        "%REQ(X-NOPE)%",
        "%RESP(X-NOPE)%",
        "%TRAILER(X-NOPE)%",
        "%RESPONSE_CODE_DETAILS%",
        "%RESPONSE_FLAGS%",
        "%DURATION%",
        "%REQUEST_DURATION%",
        "%RESPONSE_DURATION%",
        "%RESPONSE_TX_DURATION%",
        "%UPSTREAM_HOST%",
        "%UPSTREAM_CLUSTER%",
        "%UPSTREAM_LOCAL_ADDRESS%",
        "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
        "%REQUESTED_SERVER_NAME%",
        "%ROUTE_NAME%",
        "%STREAM_ID%",
        "%ENVIRONMENT(GATEWAY_TEST_SURELY_UNSET)%",
    ],
)
def test_missing_values_print_dash_or_empty(template: str) -> None:
    assert compile_format(template).format(bare_info()) == "-"
    assert compile_format(template, omit_empty_values=True).format(bare_info()) == ""


def test_ipv6_addresses_are_bracketed() -> None:
    info = bare_info()
    assert compile_format("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%").format(info) == (
        "[::1]:4000 ::1"
    )


def test_unset_numbers_are_zero_as_envoy_prints_them() -> None:
    assert compile_format("%RESPONSE_CODE% %BYTES_SENT% %UPSTREAM_REQUEST_ATTEMPT_COUNT%").format(bare_info()) == (
        "0 0 0"
    )


def test_default_format() -> None:
    line = compile_format(DEFAULT_FORMAT).format(make_info())
    assert line == (
        '[2024-03-05T06:07:08.123Z] "POST /cart/items?id=7 HTTP/1.1" 201 UH,UT 17 2048 50 12 "-" "curl/8.0" "-" '
        '"shop.example.com" "10.9.9.9:8080"\n'
    )


def test_process_values_are_constant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TEST_ZONE", "eu-west-1a")
    fmt = compile_format("%HOSTNAME%/%ENVIRONMENT(GATEWAY_TEST_ZONE):6%")
    assert fmt.is_constant
    assert fmt.constant == f"{socket.gethostname()}/eu-wes"
    assert fmt.format(bare_info()) == fmt.constant
    assert compile_format("static text").constant == "static text"
    assert not compile_format("x %PROTOCOL%").is_constant
    assert compile_format("x %PROTOCOL%").constant is None


def test_unique_id_differs_per_call() -> None:
    fmt = compile_format("%UNIQUE_ID%")
    first, second = fmt.format(bare_info()), fmt.format(bare_info())
    assert len(first) == 36 and first != second


def test_start_time_cache_follows_the_clock() -> None:
    fmt = compile_format("%START_TIME(%H:%M:%S.%3f)%")
    info = bare_info()
    assert fmt.format(info) == "06:07:08.123"
    info.start_time = START + 1.5
    assert fmt.format(info) == "06:07:09.623"
    info.start_time = time.time()
    assert fmt.format(info) == time.strftime("%H:%M:%S", time.gmtime(info.start_time)) + fmt.format(info)[8:]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("%NOPE%", "unknown command %NOPE%"),
        ("%REQ%", "REQ requires an argument"),
        ("%REQ()%", "REQ requires an argument"),
        ("%REQ(a?)%", "expected NAME or NAME?ALTERNATIVE"),
        ("%REQ(a?b?c)%", "expected NAME or NAME?ALTERNATIVE"),
        ("%PROTOCOL(x)%", "PROTOCOL takes no argument"),
        ("%DURATION:3%", "length limit applies only to text values"),
        ("%REQ(a", "unterminated '('"),
        ("%REQ(a):%", "expected a length after ':'"),
        ("%PROTOCOL", "is not closed by '%'"),
        ("50% off", "no command name after '%' at position 2"),
        ("%req(a)%", "no command name"),
    ],
)
def test_bad_formats_raise_clear_errors(template: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid format") as excinfo:
        compile_format(template)
    assert message in str(excinfo.value)


def test_json_values_are_typed_and_nested() -> None:
    fmt = compile_json_format(
        {
            "code": "%RESPONSE_CODE%",
            "duration": "%DURATION%",
            "method": "%REQ(:METHOD)%",
            "missing": "%REQ(X-NOPE)%",
            "mixed": "%REQ(:METHOD)% %REQ(X-NOPE)% %RESPONSE_CODE%",
            "upstream": {
                "host": "%UPSTREAM_HOST%",
                "cluster": "%UPSTREAM_CLUSTER%",
                "tries": ["%UPSTREAM_REQUEST_ATTEMPT_COUNT%"],
            },
            "literal": "edge",
            "number": 3,
            "flag": True,
            "nothing": None,
        }
    )
    line = fmt.format(make_info())
    assert line.endswith("}\n") and "\n" not in line[:-1]
    assert json.loads(line) == {
        "code": 201,
        "duration": 50,
        "method": "POST",
        "missing": None,
        "mixed": "POST - 201",
        "upstream": {"host": "10.9.9.9:8080", "cluster": "cart_cluster", "tries": [2]},
        "literal": "edge",
        "number": 3,
        "flag": True,
        "nothing": None,
    }
    # Key order is the configured order.
    assert list(json.loads(line)) == [
        "code",
        "duration",
        "method",
        "missing",
        "mixed",
        "upstream",
        "literal",
        "number",
        "flag",
        "nothing",
    ]


def test_json_omit_empty_values() -> None:
    fmt = compile_json_format(
        {"host": "%UPSTREAM_HOST%", "code": "%RESPONSE_CODE%", "u": {"c": "%UPSTREAM_CLUSTER%"}}, omit_empty_values=True
    )
    assert fmt.format_value(bare_info()) == {"code": 0}


def test_json_errors_name_the_key() -> None:
    with pytest.raises(ValueError, match=r"json_format\.outer\.inner: invalid format '%NOPE%': unknown command"):
        compile_json_format({"outer": {"inner": "%NOPE%"}})
    with pytest.raises(ValueError, match="must be an object"):
        compile_json_format(["%PROTOCOL%"])  # type: ignore[arg-type]
