"""``gateway plugin new|build|run``: from an idea to a running plugin in three commands.

new NAME     a plugin crate on sdk-rust (source, config example, a pytest on abi.testing) that builds as made
build [DIR]  finds a Rust toolchain with a wasm target, builds, and reports size, ABI version and imports
run FILE     the gateway with one route through the plugin to a bundled echo upstream, for trying it with curl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SDK = REPO / "sdk-rust"
TARGETS = ("wasm32-wasip1", "wasm32-wasi")
# Imports the proxy-wasm ABI and WASI define (what Envoy links); anything else would not load on Envoy.
_STANDARD_MODULES = ("env", "wasi_snapshot_preview1", "wasi_unstable")
_HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="gateway plugin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="create a plugin crate from the template")
    new.add_argument("name")
    new.add_argument("--dir", default=".", help="where to create it (default: here)")
    build = commands.add_parser("build", help="build a plugin crate to .wasm and report on it")
    build.add_argument("path", nargs="?", default=".")
    run = commands.add_parser("run", help="serve one route through a plugin, in front of an echo upstream")
    run.add_argument("wasm")
    run.add_argument("--config", default="", help="the plugin configuration (a string, usually JSON)")
    run.add_argument("--root-id", default="")
    run.add_argument("--port", type=int, default=10000)
    run.add_argument("--admin-port", type=int, default=9901)
    args = parser.parse_args(argv)
    if args.command == "new":
        return new_plugin(args.name, Path(args.dir))
    if args.command == "build":
        return build_plugin(Path(args.path))
    return run_plugin(Path(args.wasm), args.config, args.root_id, args.port, args.admin_port)


# -- new --------------------------------------------------------------------------------------------------


def _inside_workspace(directory: Path) -> bool:
    for parent in [directory, *directory.parents]:
        manifest = parent / "Cargo.toml"
        if manifest.is_file() and "[workspace]" in manifest.read_text():
            return True
    return False


def new_plugin(name: str, where: Path) -> int:
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        print(
            f"gateway plugin new: {name!r}: use letters, digits and underscores, starting with a letter",
            file=sys.stderr,
        )
        return 1
    crate = where.resolve() / name
    if crate.exists():
        print(f"gateway plugin new: {crate} already exists", file=sys.stderr)
        return 1
    workspace = "" if _inside_workspace(where.resolve()) else _WORKSPACE
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(_CARGO.format(name=name, sdk=SDK, workspace=workspace))
    (crate / "src" / "lib.rs").write_text(_LIB.replace("{name}", name))
    (crate / "config.json").write_text('{"header": "x-hello", "value": "world"}\n')
    (crate / f"test_{name}.py").write_text(_TEST.replace("{name}", name))
    (crate / "README.md").write_text(_README.replace("{name}", name))
    print(f"created {crate}")
    print(f"  gateway plugin build {crate}")
    print(f'  gateway plugin run {crate / (name + ".wasm")} --config "$(cat {crate / "config.json"})"')
    return 0


_WORKSPACE = "\n# Its own workspace, so it builds wherever it is created.\n[workspace]\n"

_CARGO = """[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
proxy-wasm = {{ path = "{sdk}" }}

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
strip = true
{workspace}"""

_LIB = """//! {name}: sets a response header from its JSON configuration `{"header": NAME, "value": VALUE}`.

use proxy_wasm::json;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(Root { header: String::new(), value: String::new() }));
}}

struct Root {
    header: String,
    value: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let parsed = json::parse_bytes(&bytes).map_err(|e| e.to_string()).and_then(|v| {
            let field = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_string);
            match (field("header"), field("value")) {
                (Some(h), Some(val)) => Ok((h.to_ascii_lowercase(), val)),
                _ => Err("expected {\\"header\\": string, \\"value\\": string}".to_string()),
            }
        });
        match parsed {
            Ok((header, value)) => {
                self.header = header;
                self.value = value;
                true
            }
            Err(reason) => {
                proxy_wasm::warn!("{name}: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream { header: self.header.clone(), value: self.value.clone() }))
    }
}

struct Stream {
    header: String,
    value: String,
}

impl Context for Stream {}

impl HttpContext for Stream {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header(&self.header, Some(&self.value));
        Action::Continue
    }
}
"""

_TEST = '''"""{name}: unit tests on the built .wasm with the gateway's test harness (no proxy, no sockets)."""

import json
from pathlib import Path

from abi.errors import PluginLoadError
from abi.testing import CONTINUE, Harness

WASM = Path(__file__).parent / "{name}.wasm"


def test_sets_the_configured_response_header() -> None:
    harness = Harness.load(WASM, configuration=json.dumps({"header": "x-hello", "value": "world"}))
    stream = harness.stream()
    stream.send_request_headers({":method": "GET", ":path": "/", ":authority": "example"}, end_of_stream=True)
    assert stream.send_response_headers({":status": "200"}, end_of_stream=True) == CONTINUE
    assert stream.response_header("x-hello") == "world"


def test_rejects_a_configuration_without_value() -> None:
    try:
        Harness.load(WASM, configuration=json.dumps({"header": "x-hello"}))
    except PluginLoadError as error:
        assert "configure" in str(error)
    else:
        raise AssertionError("the plugin accepted a configuration without value")
'''

_README = """# {name}

A proxy-wasm plugin built on the gateway's Rust SDK.

    gateway plugin build .                       # -> {name}.wasm, with size, ABI version and imports
    python -m pytest test_{name}.py              # unit tests on the built .wasm, no proxy needed
    gateway plugin run {name}.wasm --config "$(cat config.json)"
    curl -i http://127.0.0.1:10000/              # the response carries the configured header
"""


# -- build ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    cargo: str
    rustc: str
    target: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "RUSTC": self.rustc}


def find_toolchain() -> Toolchain | None:
    """A cargo/rustc pair whose sysroot has a wasm target: Debian's first, then whatever is on PATH."""
    candidates = [("/usr/bin/cargo", "/usr/bin/rustc")]
    cargo, rustc = shutil.which("cargo"), shutil.which("rustc")
    if cargo and rustc:
        candidates.append((cargo, rustc))
    for cargo_path, rustc_path in candidates:
        if not (os.access(cargo_path, os.X_OK) and os.access(rustc_path, os.X_OK)):
            continue
        try:
            sysroot = subprocess.run(
                [rustc_path, "--print", "sysroot"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        for target in TARGETS:
            if (Path(sysroot) / "lib" / "rustlib" / target).is_dir():
                return Toolchain(cargo_path, rustc_path, target)
    return None


def build_plugin(path: Path) -> int:
    crate = path.resolve()
    if not (crate / "Cargo.toml").is_file():
        print(f"gateway plugin build: no Cargo.toml in {crate}", file=sys.stderr)
        return 1
    toolchain = find_toolchain()
    if toolchain is None:
        print(
            "gateway plugin build: no Rust toolchain with a wasm target found. On Debian: "
            "apt-get install rustc cargo libstd-rust-dev-wasm32 lld; with rustup: "
            "rustup target add wasm32-wasip1",
            file=sys.stderr,
        )
        return 1
    started = time.monotonic()
    result = subprocess.run(
        [toolchain.cargo, "build", "--release", "--target", toolchain.target], cwd=crate, env=toolchain.env()
    )
    if result.returncode != 0:
        return result.returncode
    metadata = json.loads(
        subprocess.run(
            [toolchain.cargo, "metadata", "--format-version", "1", "--no-deps"],
            cwd=crate,
            env=toolchain.env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    manifest = str(crate / "Cargo.toml")
    package = next(p for p in metadata["packages"] if p["manifest_path"] == manifest)
    artifact_name = package["name"].replace("-", "_") + ".wasm"
    artifact = Path(metadata["target_directory"]) / toolchain.target / "release" / artifact_name
    output = crate / artifact_name
    shutil.copyfile(artifact, output)
    print(f"built {output} in {time.monotonic() - started:.1f}s with {toolchain.rustc} ({toolchain.target})")
    return report(output)


def report(wasm: Path) -> int:
    """Size, ABI version and imports of a module; warns about imports Envoy would not provide."""
    import wasmtime

    from abi.exports import HOST_FUNCTIONS

    module = wasmtime.Module(wasmtime.Engine(), wasm.read_bytes())
    exports = {e.name for e in module.exports}
    abi = sorted(
        name.removeprefix("proxy_abi_version_").replace("_", ".")
        for name in exports
        if name.startswith("proxy_abi_version_")
    )
    provided = {(f.module, f.name) for f in HOST_FUNCTIONS}
    imports = [(i.module, i.name) for i in module.imports]
    print(f"  size        {wasm.stat().st_size:,} bytes")
    print(f"  ABI         {', '.join(abi) if abi else 'none (not a proxy-wasm module)'}")
    print(f"  imports     {len(imports)}: " + ", ".join(sorted({m for m, _ in imports})))
    unknown = [f"{m}.{n}" for m, n in imports if (m, n) not in provided or m not in _STANDARD_MODULES]
    for name in unknown:
        print(f"  warning     imports {name}, which neither Envoy nor this gateway provides: it will not load")
    return 1 if unknown or not abi else 0


# -- run --------------------------------------------------------------------------------------------------


def run_config(wasm: Path, configuration: str, root_id: str, port: int, admin_port: int, echo_port: int) -> str:
    """The one-route config ``run`` serves, as YAML (JSON is YAML)."""
    plugin = {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": wasm.stem,
                "root_id": root_id,
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration},
                "vm_config": {
                    "vm_id": wasm.stem,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm.resolve())}},
                },
            },
        },
    }
    hcm = {
        "@type": _HCM_TYPE,
        "stat_prefix": "plugin_run",
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
                },
            }
        ],
        "route_config": {
            "virtual_hosts": [
                {"name": "all", "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "echo"}}]}
            ]
        },
        "http_filters": [plugin, {"name": "envoy.filters.http.router"}],
    }
    bootstrap = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "plugin_run",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "echo",
                    "connect_timeout": "1s",
                    "type": "STATIC",
                    "load_assignment": {
                        "cluster_name": "echo",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {"address": "127.0.0.1", "port_value": echo_port}
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
            ],
        },
    }
    return json.dumps(bootstrap, indent=2)


def run_plugin(wasm: Path, configuration: str, root_id: str, port: int, admin_port: int) -> int:
    if not wasm.is_file():
        print(f"gateway plugin run: no such file: {wasm}", file=sys.stderr)
        return 1
    from gateway.cli import configure_logging

    configure_logging("info")
    import uvloop

    return uvloop.run(_run(wasm, configuration, root_id, port, admin_port))


async def _run(wasm: Path, configuration: str, root_id: str, port: int, admin_port: int) -> int:
    import signal

    from gateway.config import loads
    from gateway.config.errors import ConfigErrors
    from gateway.devtools.echo import serve as serve_echo
    from gateway.server.options import ServerOptions
    from gateway.server.run import Server

    echo = await serve_echo("127.0.0.1", 0)
    echo_port = echo.sockets[0].getsockname()[1]
    try:
        text = run_config(wasm, configuration, root_id, port, admin_port, echo_port)
        try:
            server = Server(loads(text), ServerOptions(config_path=None, config_yaml=text))
            await server.start()
        except ConfigErrors as e:
            for error in e.errors:
                print(f"error: {error}", file=sys.stderr)
            return 1
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_stop)
        logging.getLogger("gateway").info(
            "plugin %s in front of an echo upstream: curl -i http://127.0.0.1:%d/  (admin on :%d; Ctrl-C stops)",
            wasm.name,
            port,
            admin_port,
        )
        await server.wait_stopped()
        return 0
    finally:
        echo.close()
        await echo.wait_closed()
