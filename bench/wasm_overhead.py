"""What a Wasm plugin costs per request: the gateway with a plugin that reads the request headers and adds a response
header, against the same one-route gateway without it, in alternating wrk runs to one nginx upstream. Prints the
median requests/s of both and their ratio, and the gateway process's CPU time per request (utime + stime from
/proc/<pid>/stat over each run, divided by its requests) for both; the difference is the plugin's per-request cost
(goal: at most 40 µs). CPU time barely moves when other processes share the cores; requests/s does.

    .venv/bin/python bench/wasm_overhead.py [--rounds 3] [--seconds 5] [--connections 32] [--profile FILE]

``--profile FILE`` runs the plugin gateway under cProfile timed by ``time.process_time`` (CPU only), switched on
by SIGUSR2 for the measured runs only; it writes the pstats to FILE and prints the top functions by own time per
request (profiling inflates the CPU figures of that gateway).
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import wasmtime
from common import NGINX_UPSTREAM, ROOT, free_port, gateway_config, median, nginx, process, wrk

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

# The gateway's CLI under a process-time profiler that SIGUSR2 switches on, and off again (writing the stats).
_PROFILED = """
import cProfile, signal, sys, time
out = sys.argv[1]
sys.argv = ["gateway", *sys.argv[2:]]
profiler = cProfile.Profile(time.process_time)
running = []
def toggle(signum, frame):
    if running:
        profiler.disable()
        profiler.dump_stats(out)
        running.clear()
    else:
        profiler.enable()
        running.append(True)
signal.signal(signal.SIGUSR2, toggle)
from gateway.cli import main
sys.exit(main())
"""

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime (fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@contextmanager
def gateway_process(config_text: str, profile: str | None = None) -> Iterator[tuple[int, int]]:
    """common.gateway(), but yielding (port, pid) so the process's CPU time can be read."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        conf = Path(tmp) / "gateway.yaml"
        conf.write_text(config_text.replace("__PORT__", str(port)))
        args = ["-c", str(conf), "-l", "warning"]
        cmd = [sys.executable, "-m", "gateway", *args]
        if profile is not None:
            cmd = [sys.executable, "-c", _PROFILED, profile, *args]
        with process(cmd, port, cwd=str(ROOT), env={**os.environ, "PYTHONOPTIMIZE": "1"}) as proc:
            yield port, proc.pid


def measured(pid: int, port: int, seconds: int, connections: int) -> tuple[float, float]:
    """One wrk run: (requests/s, CPU µs per request of the gateway)."""
    before = cpu_seconds(pid)
    result = wrk(port, seconds, connections)
    used = cpu_seconds(pid) - before
    if result.errors:
        raise SystemExit(f"{result.errors} errors in a run on port {port}")
    return result.requests_per_s, used / (result.requests_per_s * seconds) * 1e6


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", metavar="FILE", help="write a CPU-time cProfile of the plugin gateway's runs")
    args = parser.parse_args()

    results: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="bench-wasm-") as tmp:
        code = Path(tmp) / "bench_plugin.wasm"
        code.write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
        with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
            plain = gateway_config(upstream_port)
            with_plugin = gateway_config(upstream_port, PLUGIN_FILTER.format(code=code))
            with (
                gateway_process(plain) as (plain_port, plain_pid),
                gateway_process(with_plugin, args.profile) as (plugin_port, plugin_pid),
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
                        rps, cpu_us = measured(pid, port, args.seconds, args.connections)
                        results[name].append((rps, cpu_us))
                        print(f"  {name:8s} plugin {rps:9.0f} req/s   {cpu_us:6.1f} µs CPU/request", flush=True)
                if args.profile:
                    os.kill(plugin_pid, signal.SIGUSR2)
                    time.sleep(1.0)  # the profiler writes its stats

    rps = {name: median([r for r, _ in runs]) for name, runs in results.items()}
    cpu = {name: median([c for _, c in runs]) for name, runs in results.items()}
    print(f"\nmedians over {args.rounds} rounds of {args.seconds}s, {args.connections} connections, one worker each:")
    print(f"  without plugin  {rps['without']:9.0f} req/s   {cpu['without']:6.1f} µs CPU/request")
    print(f"  with plugin     {rps['with']:9.0f} req/s   {cpu['with']:6.1f} µs CPU/request")
    print(f"  ratio with/without = {rps['with'] / rps['without']:.2f}")
    print(f"  plugin cost = {cpu['with'] - cpu['without']:.1f} µs CPU per request (goal: at most 40)")
    if args.profile:
        print_profile(args.profile, sum(r * args.seconds for r, _ in results["with"]))


if __name__ == "__main__":
    main()
