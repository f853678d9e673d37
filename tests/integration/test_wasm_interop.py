"""Plugins built with a third-party SDK (AssemblyScript, @solo-io/proxy-runtime from npm; tests/interop/README.md)
through the gateway on real sockets: header edits both ways, a local response, an HTTP callout to a real service,
and the SDK's metrics in /stats (and /stats/prometheus, with sanitised names)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import basic_config, echo_upstream, gateway, port_of, request
from tests.integration.wasm_support import (
    ADMIN,
    ROOT,
    Answer,
    Seen,
    admin_get,
    cluster,
    eventually,
    http_service,
    stats,
    wasm_filter,
)

BUILD = ROOT / "tests" / "interop" / "build"
pytestmark = pytest.mark.timeout(600)  # a build from scratch (npm ci + compiles) takes about a minute


@pytest.fixture(scope="module")
def built() -> Path:
    """The build folder, after building what is missing with scripts/build-interop.sh."""
    names = ("headers", "local_response", "http_callout", "metrics")
    if not all((BUILD / f"{name}.wasm").exists() for name in names):
        if not (shutil.which("node") and shutil.which("npm")):
            pytest.skip("node and npm are needed to build the AssemblyScript plugins")
        done = subprocess.run([str(ROOT / "scripts" / "build-interop.sh")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    return BUILD


def _as_filter(build: Path, plugin: str, configuration: str) -> str:
    return wasm_filter(f"as_{plugin}", build / f"{plugin}.wasm", configuration)


async def test_headers_plugin_edits_both_directions(built: Path) -> None:
    config = "request-add x-added 1\nrequest-remove x-secret\nresponse-set x-served-by as\necho x-trace x-trace-back\n"
    async with (
        echo_upstream() as up,
        gateway(basic_config(up, http_filters=_as_filter(built, "headers", config))) as gw,
    ):
        r = await request(port_of(gw), "GET", "/h", headers=[("x-secret", "s"), ("x-trace", "t-1")])
    assert r.status == 200
    seen = r.json()["headers"]
    assert isinstance(seen, dict)
    assert seen["x-added"] == "1" and "x-secret" not in seen
    assert r.headers["x-served-by"] == "as" and r.headers["x-trace-back"] == "t-1"


async def test_local_response_plugin_denies_before_the_upstream(built: Path) -> None:
    config = "deny-path /admin\nstatus 451\nbody unavailable for legal reasons\nreply-header x-denied-by as\n"
    filters = _as_filter(built, "local_response", config)
    async with echo_upstream() as up, gateway(ADMIN + basic_config(up, http_filters=filters)) as gw:
        denied = await request(port_of(gw), "GET", "/admin/users")
        allowed = await request(port_of(gw), "GET", "/public")
        counters = await stats(gw)
    assert (denied.status, denied.body) == (451, b"unavailable for legal reasons")
    assert denied.headers["x-denied-by"] == "as"
    assert allowed.status == 200
    assert counters["cluster.upstream.upstream_rq_total"] == 1  # the denied request never left


def _auth(seen: Seen) -> Answer:
    if seen.headers.get("authorization") == "Bearer good":
        return Answer(200, [("content-type", "text/plain")], b"alice")
    return Answer(401, body=b"no")


async def test_http_callout_plugin_asks_a_real_service_and_resumes(built: Path) -> None:
    config = (
        "cluster authz\npath /check\nauthority authz.internal\nforward-header authorization\nresult-header x-user\n"
    )
    async with http_service(_auth) as authz, echo_upstream() as up:
        yaml = basic_config(
            up, http_filters=_as_filter(built, "http_callout", config), clusters=cluster("authz", authz.port)
        )
        async with gateway(yaml) as gw:
            port = port_of(gw)
            allowed = await request(port, "POST", "/orders", headers=[("authorization", "Bearer good")], body=b"p")
            denied = await request(port, "GET", "/orders", headers=[("authorization", "Bearer bad")])
    assert allowed.status == 200
    seen = allowed.json()
    assert seen["headers"]["x-user"] == "alice"  # type: ignore[index]
    assert seen["body"] == "p"
    assert denied.status == 403 and denied.headers["x-auth-status"] == "401"
    check = authz.seen[0]
    assert (check.method, check.target, check.headers["host"]) == ("GET", "/check", "authz.internal")
    assert check.headers["x-original-path"] == "/orders"


async def test_metrics_plugin_counts_and_ticks_into_stats_and_prometheus(built: Path) -> None:
    filters = _as_filter(built, "metrics", "prefix as-app.v1\ntick-ms 20\n")
    async with echo_upstream() as up, gateway(ADMIN + basic_config(up, http_filters=filters)) as gw:
        for _ in range(3):
            await request(port_of(gw), "GET", "/")

        async def ticked() -> bool:
            return (await stats(gw)).get("wasmcustom.as-app.v1.ticks", 0) >= 2

        await eventually(ticked)
        counters = await stats(gw)
        prometheus = (await admin_get(gw, "/stats/prometheus")).body.decode()
    assert counters["wasmcustom.as-app.v1.requests"] == 3
    assert counters["wasmcustom.as-app.v1.active"] == 0
    assert "# TYPE as_app_v1_requests counter\nas_app_v1_requests{} 3" in prometheus
    assert "# TYPE as_app_v1_active gauge\nas_app_v1_active{} 0" in prometheus
