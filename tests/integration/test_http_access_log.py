"""Access logs end to end: file sinks in tmp_path with Envoy's default format, a custom text format and a
json_format, for proxied requests and for every way a stream can fail (NR, UF, UH, UO, UT, DC, DPE)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request
from tests.integration.http_support import eventually, raw_exchange, stat, tcp_upstream

CUSTOM = (
    "%REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_HOST% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION%\\n"
)
JSON = {
    "path": "%REQ(:PATH)%",
    "code": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "host": "%UPSTREAM_HOST%",
    "received": "%BYTES_RECEIVED%",
    "sent": "%BYTES_SENT%",
    "duration": "%DURATION%",
}


def access_logs(tmp_path: Path) -> str:
    def sink(name: str, log_format: str) -> str:
        return f"""          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {tmp_path / name}
{log_format}"""

    return "          access_log:\n" + "\n".join(
        (
            sink("default.log", ""),
            sink("custom.log", f'              log_format: {{text_format_source: {{inline_string: "{CUSTOM}"}}}}\n'),
            sink("json.log", f"              log_format: {{json_format: {json.dumps(JSON)}}}\n"),
        )
    )


def cluster(name: str, port: int | None, extra: str = "") -> str:
    endpoints = (
        f"""      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}}}
"""
        if port is not None
        else ""
    )
    return f"""  - name: {name}
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: {name}
{endpoints}{extra}"""


def config(tmp_path: Path, up: int, dead: int, stalled: int) -> str:
    routes = """              - match: {prefix: "/uf"}
                route: {cluster: dead}
              - match: {prefix: "/uh"}
                route: {cluster: empty}
              - match: {prefix: "/uo"}
                route: {cluster: full}
              - match: {prefix: "/ut"}
                route: {cluster: upstream, timeout: 0.2s}
              - match: {prefix: "/stall"}
                route: {cluster: stalled}"""
    clusters = (
        cluster("dead", dead)
        + cluster("empty", None)
        + cluster("full", up, "    circuit_breakers: {thresholds: [{max_requests: 0}]}\n")
        + cluster("stalled", stalled)
    )
    text = basic_config(up, extra_hcm=access_logs(tmp_path), routes=routes, clusters=clusters)
    # Only the routes above and /ok go anywhere: everything else is NR.
    return text.replace('- match: {prefix: "/"}', '- match: {prefix: "/ok"}')


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_response_flags_details_and_fields_as_envoy_prints_them(tmp_path: Path) -> None:
    async with echo_upstream() as dead:
        pass  # a port nobody listens on now
    request_seen = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        request_seen.set()
        await reader.read()

    async with echo_upstream() as up, tcp_upstream(stall) as stalled:
        async with gateway(config(tmp_path, up, dead, stalled)) as gw:
            port = port_of(gw)
            assert (await request(port, "POST", "/ok", body=b"12345")).status == 200
            assert (await request(port, "GET", "/nothing-here")).status == 404
            assert (await request(port, "GET", "/uf")).status == 503
            assert (await request(port, "GET", "/uh")).status == 503
            assert (await request(port, "GET", "/uo")).status == 503
            assert (await request(port, "GET", "/ut", headers=[("x-echo-delay-ms", "3000")])).status == 504
            gone = await Client.connect(port)
            await gone.send_raw(b"GET /stall HTTP/1.1\r\nhost: a\r\n\r\n")
            await asyncio.wait_for(request_seen.wait(), 10)
            await gone.close()
            # The client's FIN ends its stream at once (Envoy has no half-close here), not at shutdown.
            await eventually(lambda: stat(gw, "http.ingress_http.downstream_cx_destroy_remote_active_rq") == 1)
            assert (await raw_exchange(port, b"GET /dpe HTTP/1.1\r\nhost: a\r\nbad header\r\n\r\n")).startswith(
                b"HTTP/1.1 400 Bad Request\r\n"
            )
        # Closing the gateway flushes the sinks.
        await eventually(lambda: len(lines(tmp_path / "json.log")) == 8)

    custom = {line.split(" ")[0]: line.split(" ") for line in lines(tmp_path / "custom.log")}
    ok = custom["/ok"]
    assert ok[1:4] == ["200", "-", "via_upstream"] and ok[4] == f"127.0.0.1:{up}"
    assert ok[5] == "5" and int(ok[6]) > 0 and int(ok[7]) >= 0
    assert custom["/nothing-here"][1:5] == ["404", "NR", "route_not_found", "-"]
    assert custom["/uf"][1:3] == ["503", "UF"] and custom["/uf"][4] == f"127.0.0.1:{dead}"
    assert custom["/uf"][3].startswith("upstream_reset_before_response_started{")
    assert custom["/uh"][1:4] == ["503", "UH", "no_healthy_upstream"]
    assert custom["/uo"][1:4] == ["503", "UO", "upstream_reset_before_response_started{overflow}"]
    assert custom["/ut"][1:4] == ["504", "UT", "upstream_response_timeout"]
    assert custom["/stall"][1:5] == ["0", "DC", "downstream_remote_disconnect", f"127.0.0.1:{stalled}"]
    assert custom["-"][1:4] == ["400", "DPE", "http1.codec_error"]  # no request headers: no path

    by_path = {entry["path"]: entry for entry in map(json.loads, lines(tmp_path / "json.log"))}
    assert by_path["/ok"]["code"] == 200 and by_path["/ok"]["received"] == 5 and by_path["/ok"]["sent"] > 0
    assert by_path["/uo"]["flags"] == "UO" and by_path["/ut"]["details"] == "upstream_response_timeout"
    assert isinstance(by_path["/ok"]["duration"], int)

    default = [line for line in lines(tmp_path / "default.log") if '"POST /ok ' in line]
    assert len(default) == 1
    pattern = (
        r'\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "POST /ok HTTP/1\.1" 200 - 5 \d+ \d+ \d+ "-" "-" '
        rf'"[0-9a-f-]{{36}}" "example\.com" "127\.0\.0\.1:{up}"'
    )
    assert re.fullmatch(pattern, default[0]), default[0]
    nr = next(line for line in lines(tmp_path / "default.log") if "/nothing-here" in line)
    assert " 404 NR 0 0 " in nr and nr.endswith('"-"')
