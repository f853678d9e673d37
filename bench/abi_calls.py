"""Costs of the proxy-wasm host, in µs: common host calls, an on_request_headers round trip, a whole stream,
VM creation, and loading a compiled module from the disk cache against compiling it.

    .venv/bin/python bench/abi_calls.py [--quick]

Runs in a few seconds on the plugin in tests/wasm/bench.wat (and a Rust plugin from plugins/, when built,
for the compile/load figures). Medians of repeated batches of this thread's CPU time (the guest runs on it
too), so other processes on the shared machine inflate them less than wall time; still, compare ratios.
Compile and load are wall time (compilation uses several threads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import wasmtime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gateway  # noqa: E402, F401  (installs the compiled build, abi's hot modules included, before abi loads)
from abi.cache import ModuleCache  # noqa: E402
from abi.exports import HOST_FUNCTIONS  # noqa: E402
from abi.host import StreamHost  # noqa: E402
from abi.plugin import Plugin  # noqa: E402
from abi.runtime import VmRegistry  # noqa: E402
from abi.testing import Harness  # noqa: E402
from abi.types import Status  # noqa: E402
from abi.vm import WasmEngine  # noqa: E402

HEADERS = {
    ":method": "GET",
    ":path": "/api/v1/items?page=2",
    ":authority": "example.com",
    ":scheme": "https",
    "user-agent": "bench/1.0",
    "accept": "application/json",
    "accept-encoding": "gzip, br",
    "x-request-id": "6f1c7a1e-3b2d-4c55-9a0e-2f1d9e4b7c11",
}


def median_us(run: Callable[[], object], per_batch: int, batches: int) -> float:
    samples = []
    for _ in range(batches):
        start = time.thread_time()
        run()
        samples.append((time.thread_time() - start) / per_batch * 1e6)
    return statistics.median(samples)


def host_calls(h: Harness, batches: int) -> list[tuple[str, float]]:
    vm = h.plugin.vm
    assert vm is not None
    s = h.stream()
    s.send_request_headers(HEADERS)
    s.send_request_body(b"x" * 1024, end_of_stream=False)  # the body callback holds it: buffer reads work
    ctx = s.http._ctx
    assert ctx is not None
    define = vm.vm.export("define_counter", 0, 1)
    assert define is not None and vm.call(ctx, define) == 0
    n = 2000
    noop = vm.vm.export("noop", 1, 1)
    assert noop is not None
    entry = median_us(lambda: [noop.call_with((0,)) for _ in range(n)], n, batches)
    rows = [("enter the guest (export call)", entry)]
    for name, label in (
        ("log", "proxy_log (TRACE, 10 bytes)"),
        ("time", "proxy_get_current_time_nanoseconds"),
        ("get_header", "proxy_get_header_map_value"),
        ("get_pairs", "proxy_get_header_map_pairs (8 headers)"),
        ("replace_header", "proxy_replace_header_map_value"),
        ("get_body", "proxy_get_buffer_bytes (1 KiB)"),
        ("get_property", "proxy_get_property"),
        ("increment_metric", "proxy_increment_metric (counter)"),
        ("get_shared_data", "proxy_get_shared_data (missing key)"),
    ):
        func = vm.vm.export(f"loop_{name}", 1, 1)
        assert func is not None
        total = median_us(partial(vm.call, ctx, func, n), 1, batches)
        rows.append((label, (total - entry) / n))
    return rows


def round_trips(h: Harness, batches: int, label: str = "") -> list[tuple[str, float]]:
    plugin = h.plugin
    n = 300

    def headers_only() -> None:
        stream = plugin.new_stream(_NullStream())
        for _ in range(n):
            stream.on_request_headers([(k.encode(), v.encode()) for k, v in HEADERS.items()], True)

    def whole_stream() -> None:
        for _ in range(n):
            stream = plugin.new_stream(_NullStream())
            stream.on_request_headers([(k.encode(), v.encode()) for k, v in HEADERS.items()], True)
            stream.on_response_headers([(b":status", b"200")], True)
            stream.on_log()
            stream.on_destroy()

    if label:
        return [(f"whole stream through {label}", median_us(whole_stream, n, batches))]
    return [
        ("on_request_headers round trip (read map, add header)", median_us(headers_only, n, batches)),
        ("whole stream: create, req+resp headers, log, done, delete", median_us(whole_stream, n, batches)),
    ]


class _NullStream(StreamHost):
    """A StreamHost that accepts everything (the benchmark never pauses)."""

    def continue_request(self) -> Status:
        return Status.OK

    def continue_response(self) -> Status:
        return Status.OK


def inert_stream(wat: str, batches: int) -> list[tuple[str, float]]:
    """A stream through a plugin that exports no stream callback (a bootstrap-style module)."""
    for name in ("proxy_on_request_headers", "proxy_on_request_body"):
        wat = wat.replace(f'(export "{name}")', "")
    h = Harness(bytes(wasmtime.wat2wasm(wat)))
    plugin, n = h.plugin, 300

    def streams() -> None:
        for _ in range(n):
            stream = plugin.new_stream(_NullStream())
            stream.on_request_headers([(b":method", b"GET")], True)
            stream.on_response_headers([(b":status", b"200")], True)
            stream.on_log()
            stream.on_destroy()

    return [("whole stream, plugin without stream callbacks", median_us(streams, n, batches))]


def ticker_idle(h: Harness) -> list[tuple[str, float]]:
    """Process CPU while nothing runs, after traffic: the epoch ticker parks (nothing else is running)."""
    round_trips(h, 1)
    time.sleep(0.2)
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(1.0)
    return [
        (
            "idle process CPU after traffic (ms per s; the epoch ticker)",
            (time.process_time() - start_cpu) / (time.monotonic() - start) * 1e3,
        )
    ]


def vm_creation(h: Harness, batches: int) -> list[tuple[str, float]]:
    """A fresh VM for an already compiled module, as after a failure: instantiate, start, configure."""
    n = 20
    return [
        (
            "VM creation (instantiate + start + configure)",
            median_us(lambda: [Plugin(h.module, h.config, h.host, VmRegistry()) for _ in range(n)], n, batches),
        )
    ]


def compile_vs_load(code: bytes, label: str) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = WasmEngine(HOST_FUNCTIONS, ModuleCache(Path(tmp)))
        start = time.perf_counter()
        first = engine.compile(code)
        compiled = (time.perf_counter() - start) * 1e6
        assert not first.from_cache
        fresh = WasmEngine(HOST_FUNCTIONS, ModuleCache(Path(tmp)))
        start = time.perf_counter()
        again = fresh.compile(code)
        loaded = (time.perf_counter() - start) * 1e6
        assert again.from_cache
        engine.close()
        fresh.close()
    return [(f"compile {label} ({len(code) // 1024} KiB)", compiled), ("load the same from the disk cache", loaded)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer batches")
    batches = 3 if parser.parse_args().quick else 7
    wat = (ROOT / "tests/wasm/bench.wat").read_text()
    code = bytes(wasmtime.wat2wasm(wat))
    h = Harness(code)
    rows = host_calls(h, batches) + round_trips(h, batches) + inert_stream(wat, batches) + vm_creation(h, batches)
    rows += ticker_idle(h)
    rust = sorted(ROOT.glob("plugins/*/*.wasm"))
    rewrite = ROOT / "plugins/header_rewrite/header_rewrite.wasm"
    if rewrite.exists():  # a real Rust SDK plugin: every callback exported, templates rendered per request
        config = b'{"request": {"add": {"x-path": "{request.path}"}}, "response": {"set": {"x-hello": "world"}}}'
        rows += round_trips(
            Harness(rewrite.read_bytes(), configuration=config), batches, "plugins/header_rewrite (Rust SDK)"
        )
    rows += compile_vs_load(rust[0].read_bytes(), rust[0].name) if rust else compile_vs_load(code, "bench.wat")
    width = max(len(label) for label, _ in rows)
    print(f"{'what':<{width}}  {'µs':>10}")
    for label, value in rows:
        print(f"{label:<{width}}  {value:>10.2f}")


if __name__ == "__main__":
    main()
