"""The plugin developer's loop as they run it: gateway plugin new -> build -> test -> run, with real Rust builds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import loads
from gateway.plugin_cli import find_toolchain, run_config
from gateway.server.options import ServerOptions
from gateway.server.run import Server
from tests.integration.harness import echo_upstream, port_of, request

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600)  # a first build compiles the SDK


def _gateway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "plugin", *args], cwd=cwd, capture_output=True, text=True, timeout=500
    )


@pytest.fixture(scope="module")
def built_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if find_toolchain() is None:
        if os.environ.get("CI"):
            pytest.fail("no Rust toolchain with a wasm target: CI must install it (scripts/setup --dev)")
        pytest.skip("no Rust toolchain with a wasm target on this machine")
    where = tmp_path_factory.mktemp("plugins")
    created = _gateway("new", "greeter", "--dir", str(where), cwd=where)
    assert created.returncode == 0, created.stderr
    built = _gateway("build", str(where / "greeter"), cwd=where)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "ABI         0.2.1" in built.stdout
    assert "warning" not in built.stdout
    return where / "greeter"


def test_new_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    assert _gateway("new", "9lives", "--dir", str(tmp_path), cwd=tmp_path).returncode == 1
    (tmp_path / "taken").mkdir()
    result = _gateway("new", "taken", "--dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1 and "already exists" in result.stderr


def test_the_generated_tests_pass_on_the_built_plugin(built_plugin: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_greeter.py"],
        cwd=built_plugin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_build_warns_about_imports_envoy_would_not_provide(tmp_path: Path) -> None:
    import wasmtime

    module = wasmtime.wat2wasm("""(module (import "env" "my_custom_call" (func (param i32)))
      (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))""")
    wasm = tmp_path / "custom.wasm"
    wasm.write_bytes(bytes(module))
    from gateway.plugin_cli import report

    assert report(wasm) == 1


async def test_run_serves_the_plugin_in_front_of_the_echo_upstream(built_plugin: Path) -> None:
    wasm = built_plugin / "greeter.wasm"
    async with echo_upstream() as echo_port:
        config = run_config(wasm, '{"header": "x-greeting", "value": "hi"}', "", 0, 0, echo_port)
        server = Server(loads(config), ServerOptions(config_path=None))
        await server.start()
        try:
            response = await request(port_of(server), "GET", "/try")
            assert response.status == 200
            assert response.headers["x-greeting"] == "hi"
            assert response.json()["path"] == "/try"
        finally:
            await server.close()
