"""The process as an operator runs it: the CLI, validate mode, the admin endpoint, and graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"


def _run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def test_every_bundled_config_validates() -> None:
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert configs
    for config in configs:
        result = _run_cli("-c", str(config), "--mode", "validate")
        assert result.returncode == 0, f"{config.name}: {result.stderr}"
        assert result.stdout.strip() == "OK"


def test_validate_reports_every_error_with_its_yaml_path(tmp_path: Path) -> None:
    bad = basic_config(8080).replace('match: {prefix: "/"}', 'match: {prefx: "/"}')
    bad = bad.replace("route: {cluster: upstream}", "route: {cluster: nowhere}")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    result = _run_cli("-c", str(path), "--mode", "validate")
    assert result.returncode == 1
    assert "virtual_hosts[0].routes[0].match.prefx: unknown field" in result.stderr
    assert result.stdout == ""


def test_validate_rejects_a_plugin_that_cannot_start(tmp_path: Path) -> None:
    plugin = """          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: broken
                vm_config: {runtime: envoy.wasm.runtime.v8, code: {local: {inline_string: "not wasm"}}}"""
    path = tmp_path / "plugin.yaml"
    path.write_text(basic_config(8080, http_filters=plugin))
    result = _run_cli("-c", str(path), "--mode", "validate")
    assert result.returncode == 1
    assert "http_filters[0].typed_config.config: wasm plugin 'broken'" in result.stderr


async def test_admin_endpoints_and_quitquitquit() -> None:
    async with echo_upstream() as up, gateway(ADMIN + basic_config(up)) as gw:
        assert gw.admin is not None
        admin_port = gw.admin.address[1]
        await request(port_of(gw), "GET", "/")
        ready = await request(admin_port, "GET", "/ready")
        assert ready.status == 200 and ready.body.strip() == b"LIVE"
        stats = await request(admin_port, "GET", "/stats?filter=downstream_rq_2xx")
        assert b"http.ingress_http.downstream_rq_2xx: 1" in stats.body
        listener = await request(admin_port, "GET", f"/stats?filter=^listener.127.0.0.1_{port_of(gw)}.")
        assert f"listener.127.0.0.1_{port_of(gw)}.downstream_cx_total: 1".encode() in listener.body
        prom = await request(admin_port, "GET", "/stats/prometheus")
        assert b'envoy_cluster_upstream_rq_total{envoy_cluster_name="upstream"} 1' in prom.body
        clusters = await request(admin_port, "GET", "/clusters")
        assert f"upstream::127.0.0.1:{up}::rq_total::1".encode() in clusters.body
        assert (await request(admin_port, "GET", "/quitquitquit")).status == 405
        assert (await request(admin_port, "POST", "/quitquitquit")).status == 200
        await asyncio.wait_for(gw.wait_stopped(), 10)


def test_sigterm_drains_in_flight_requests_then_exits_zero(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with echo_upstream() as up:
            config = tmp_path / "gw.yaml"
            port_file = tmp_path / "port"
            config.write_text(basic_config(up).replace("port_value: 0", "port_value: 0", 1))
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gateway",
                "-c",
                str(config),
                "--drain-time-s",
                "5",
                "-l",
                "info",
                cwd=ROOT,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            assert proc.stderr is not None
            port = 0
            while not port:
                line = (await asyncio.wait_for(proc.stderr.readline(), 20)).decode()
                assert line, "gateway exited before listening"
                if "listener main on" in line:
                    port = int(line.rsplit(":", 1)[1])
            port_file.write_text(str(port))
            client = await Client.connect(port)
            await client.send_raw(b"GET /slow HTTP/1.1\r\nhost: a\r\nx-echo-delay-ms: 700\r\n\r\n")
            await asyncio.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            response = await client.read_response()
            assert response.status == 200
            assert response.headers.get("connection") == "close"
            assert await client.at_eof()
            await client.close()
            assert await asyncio.wait_for(proc.wait(), 20) == 0
            # The listener stopped accepting.
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                pass
            else:
                writer.close()
                raise AssertionError("still accepting after SIGTERM")

    asyncio.run(scenario())


def test_validate_reports_every_build_error_at_once(tmp_path: Path) -> None:
    plugin = """          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: missing
                vm_config: {runtime: envoy.wasm.runtime.v8, code: {local: {filename: /nonexistent.wasm}}}"""
    access_log = """          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
              log_format: {text_format_source: {inline_string: "%NO_SUCH_COMMAND%"}}"""
    path = tmp_path / "two.yaml"
    path.write_text(basic_config(8080, http_filters=plugin, extra_hcm=access_log))
    result = _run_cli("-c", str(path), "--mode", "validate")
    assert result.returncode == 1
    assert "typed_config.access_log[0].typed_config" in result.stderr
    assert "http_filters[0].typed_config.config.vm_config.code.local.filename: cannot read Wasm module" in result.stderr
    assert "2 error(s)" in result.stderr


async def test_an_ipv6_listener_takes_ipv4_only_with_ipv4_compat() -> None:
    import socket

    for compat in (False, True):
        config = basic_config(8080).replace(
            "address: {socket_address: {address: 127.0.0.1, port_value: 0}}",
            f"address: {{socket_address: {{address: '::', port_value: 0, ipv4_compat: {str(compat).lower()}}}}}",
            1,
        )
        async with gateway(config) as gw:
            port = port_of(gw)
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)
            except OSError:
                accepted = False
            else:
                accepted = True
                writer.close()
                await writer.wait_closed()
            assert accepted is compat
