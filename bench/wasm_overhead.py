"""What a Wasm plugin costs per request: the gateway with a plugin that reads the request headers and adds a response
header, against the same one-route gateway without it, in alternating wrk runs to one nginx upstream. Prints the
median requests/s of both and their ratio, and the gateway process's CPU time per request (utime + stime from
/proc/<pid>/stat over each run, divided by its requests) for both; the difference is the plugin's per-request cost
(goal: at most 40 µs). CPU time barely moves when other processes share the cores; requests/s does.

    .venv/bin/python bench/wasm_overhead.py [--rounds 3] [--seconds 5] [--connections 32] [--profile FILE]

``--profile FILE`` runs the plugin gateway under cProfile timed by ``time.process_time`` (CPU only), switched on
by SIGUSR2 for the measured runs only; it writes the pstats to FILE and prints the top functions by own time per
request (profiling inflates the CPU figures of that gateway).

``--breakdown`` skips the servers: it drives the same plugin through WasmFilter in this process, one phase at a
time over many streams, and prints the CPU µs of each phase and of abi's share (what a stream costs without the
rest of the gateway around it). The gateway measures about 3x this sum: the same instructions, run cold in the
caches between the rest of each request's work (docs/plugins.md, "Sandbox and speed").
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import wasmtime
from common import (
    NGINX_UPSTREAM,
    ROOT,
    gateway_config,
    gateway_process,
    measure,
    median,
    nginx,
    stop_profile,
    wrk,
)

# ABI 0.2.1: proxy_on_request_headers reads the whole request header map, proxy_on_response_headers adds
# "x-wasm: 1" (a bump allocator that wraps: nothing is kept across callbacks).
PLUGIN_WAT = """
(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 100) "x-wasm")
  (data (i32.const 120) "1")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $size)) (i32.const 131072))
      (then (global.set $heap (i32.const 65536))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $pairs (i32.const 0) (i32.const 8) (i32.const 12)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 100) (i32.const 6) (i32.const 120) (i32.const 1)))
    (i32.const 0))
)
"""

PLUGIN_FILTER = """
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: bench
                vm_config: {{runtime: envoy.wasm.runtime.v8, code: {{local: {{filename: "{code}"}}}}}}"""

T = TypeVar("T")


def print_profile(path: str, requests: float) -> None:
    stats = pstats.Stats(path)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    print(f"\nprofile of the plugin gateway, µs of CPU per request (own time / with callees), {path}:")
    for (filename, line, name), (_, calls, own, cumulative, _) in rows[:25]:
        where = f"{Path(filename).name}:{line}" if line else filename
        print(
            f"  {own / requests * 1e6:7.2f} {cumulative / requests * 1e6:7.2f}  {calls / requests:5.1f} calls  "
            f"{name} ({where})"
        )


def breakdown(streams: int = 20_000) -> None:
    """CPU µs per phase of the plugin's stream lifecycle, through WasmFilter and through abi alone."""
    import asyncio

    sys.path.insert(0, str(ROOT))
    import gateway  # noqa: F401  (installs the compiled build, abi's hot modules included, before abi loads)
    from abi.plugin import Plugin, PluginConfig
    from abi.runtime import VmRegistry, load_module
    from abi.stream import HttpStream
    from gateway.config.model import Node
    from gateway.core.headers import HeaderMap
    from gateway.core.stream_info import ConnectionInfo, StreamInfo
    from gateway.filters.api import StreamFilterCallbacks
    from gateway.filters.wasm.filter import WasmFilter
    from gateway.filters.wasm.host import GatewayPluginHost
    from gateway.stats.store import Store

    request = [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"127.0.0.1:8080"),
        (b":path", b"/"),
        (b"user-agent", b"wrk"),
        (b"x-forwarded-proto", b"http"),
        (b"x-request-id", b"0b0c0e2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
        (b"x-envoy-expected-rq-timeout-ms", b"15000"),
    ]
    response = [(b":status", b"200"), (b"server", b"nginx"), (b"content-type", b"text/plain")]
    loop = asyncio.new_event_loop()
    host = GatewayPluginHost("bench", loop, Store(), None, Node())  # type: ignore[arg-type]  # makes no callouts
    module = load_module(bytes(wasmtime.wat2wasm(PLUGIN_WAT)), "bench")
    plugin = Plugin(module, PluginConfig("bench"), host, VmRegistry())

    # This plugin reaches no stream callback and reads no stream info: stand-ins serve (of the real types: the
    # compiled filter checks them).
    callbacks = StreamFilterCallbacks()
    info = StreamInfo(ConnectionInfo(1, ("127.0.0.1", 1), ("127.0.0.1", 2)))

    def timed(label: str, step: Callable[[T], object], items: Sequence[T]) -> None:
        start = time.process_time()
        for item in items:
            step(item)
        print(f"  {label:52s} {(time.process_time() - start) / len(items) * 1e6:6.2f}")

    print(f"CPU µs per stream over {streams} streams, phase by phase:")
    filters = [WasmFilter(plugin) for _ in range(streams)]
    timed("WasmFilter.set_callbacks (abi: new_stream)", lambda f: f.set_callbacks(callbacks), filters)
    timed(
        "decode_headers (context created, guest reads the map)",
        lambda f: f.decode_headers(HeaderMap(list(request)), True),
        filters,
    )
    timed("encode_headers (guest adds a header)", lambda f: f.encode_headers(HeaderMap(list(response)), False), filters)
    timed("encode_data (no proxy_on_response_body export)", lambda f: f.encode_data(bytearray(b"hello"), True), filters)
    timed("on_log (no proxy_on_log export)", lambda f: f.on_log(info), filters)
    timed("on_destroy (no proxy_on_done/_delete export)", lambda f: f.on_destroy(), filters)
    http: list[HttpStream] = [plugin.new_stream(WasmFilter(plugin)) for _ in range(streams)]
    timed("abi alone: HttpStream context creation", lambda s: s._context(), http)
    timed(
        "abi alone: on_request_headers with the context made", lambda s: s.on_request_headers(list(request), True), http
    )
    for s in http:
        s.on_destroy()
    plugin.close()
    loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", metavar="FILE", help="write a CPU-time cProfile of the plugin gateway's runs")
    parser.add_argument("--breakdown", action="store_true", help="CPU µs per phase in this process, no servers")
    args = parser.parse_args()
    if args.breakdown:
        breakdown()
        return

    results: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="bench-wasm-") as tmp:
        code = Path(tmp) / "bench_plugin.wasm"
        code.write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
        with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
            plain = gateway_config(upstream_port)
            with_plugin = gateway_config(upstream_port, PLUGIN_FILTER.format(code=code))
            with (
                gateway_process(plain) as (plain_port, plain_pid),
                gateway_process(with_plugin, profile=args.profile) as (plugin_port, plugin_pid),
            ):
                with urllib.request.urlopen(f"http://127.0.0.1:{plugin_port}/") as response:
                    if response.headers.get("x-wasm") != "1":
                        raise SystemExit("the plugin did not add its response header")
                for port in (plain_port, plugin_port):  # warm up (and compile caches)
                    wrk(port, 1, args.connections)
                if args.profile:
                    os.kill(plugin_pid, signal.SIGUSR2)
                for _ in range(args.rounds):
                    for name, port, pid in (("without", plain_port, plain_pid), ("with", plugin_port, plugin_pid)):
                        rps, cpu_us = measure(port, pid, args.seconds, args.connections)
                        results[name].append((rps, cpu_us))
                        print(f"  {name:8s} plugin {rps:9.0f} req/s   {cpu_us:6.1f} µs CPU/request", flush=True)
                if args.profile:
                    stop_profile(plugin_pid, args.profile)

    rps_of = {name: median([r for r, _ in runs]) for name, runs in results.items()}
    cpu_of = {name: median([c for _, c in runs]) for name, runs in results.items()}
    print(f"\nmedians over {args.rounds} rounds of {args.seconds}s, {args.connections} connections, one worker each:")
    print(f"  without plugin  {rps_of['without']:9.0f} req/s   {cpu_of['without']:6.1f} µs CPU/request")
    print(f"  with plugin     {rps_of['with']:9.0f} req/s   {cpu_of['with']:6.1f} µs CPU/request")
    print(f"  ratio with/without = {rps_of['with'] / rps_of['without']:.2f}")
    print(f"  plugin cost = {cpu_of['with'] - cpu_of['without']:.1f} µs CPU per request (goal: at most 40)")
    if args.profile:
        print_profile(args.profile, sum(r * args.seconds for r, _ in results["with"]))


if __name__ == "__main__":
    main()
