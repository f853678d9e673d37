"""User-space instructions per proxied request (valgrind's callgrind), for this tree or others given: the same
one-route config and nginx upstream as cpu_per_request.py. Unlike CPU time, the count barely moves when other
processes share the cores, so it can judge a change of a few percent; kernel time (the socket calls) is not in it.

    .venv/bin/python bench/instructions.py [TREE ...] [--seconds 8] [--keep DIR] [--plugin]

Each gateway runs under callgrind with instrumentation off, is warmed up, then counted over a wrk run of 4
connections. ``--keep DIR`` keeps the callgrind output of each tree, for ``callgrind_annotate`` (per function,
C functions of the compiled build included). ``--plugin`` puts wasm_overhead.py's plugin on the route: the
difference from a run without it is what the plugin costs (valgrind runs wasmtime's JIT code too). Only the
event loop's thread is counted: the Wasm epoch ticker thread wakes 50 times a second of wall time, which valgrind's
50x slowdown would charge to each request 50 times over (at full speed it is ~0.2k instructions a request). Needs
the valgrind package.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import wasmtime
from common import NGINX_UPSTREAM, ROOT, free_port, gateway_config, native_mode, nginx, process, wrk
from wasm_overhead import PLUGIN_FILTER, PLUGIN_WAT


def count(tree: Path, config: str, seconds: int, keep: Path | None) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-cg-") as tmp:
        conf = Path(tmp) / "gateway.yaml"
        conf.write_text(config.replace("__PORT__", str(port)))
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--smc-check=all-non-file",  # wasmtime writes machine code at run time
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "gateway",
            "-c",
            str(conf),
            "-l",
            "warning",
        ]
        env = {**os.environ, "PYTHONOPTIMIZE": "1", "PYTHONHASHSEED": "0"}
        # valgrind slows the gateway down about 50x: give it time to start listening.
        with process(cmd, port, start_timeout=180.0, cwd=str(tree), env=env) as proc:
            wrk(port, 2, 4)  # warm up, not counted
            subprocess.run(["callgrind_control", "--instr=on", str(proc.pid)], capture_output=True, check=True)
            result = wrk(port, seconds, 4)
            subprocess.run(["callgrind_control", "--instr=off", str(proc.pid)], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "--dump", str(proc.pid)], capture_output=True, check=True)
            time.sleep(0.5)
        total = 0
        for dump in Path(tmp).glob("callgrind.out*"):
            found = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M)
            if dump.name.endswith("-01"):  # the event loop's thread (see the module doc)
                total += int(found.group(1)) if found else 0
            if keep is not None and dump.stat().st_size > 1000:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(dump, keep / f"{tree.name or 'tree'}.{dump.name}")
        return total / (result.requests_per_s * seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="keep the callgrind output files here")
    parser.add_argument("--plugin", action="store_true", help="with wasm_overhead.py's plugin on the route")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-cg-wasm-") as tmp,
        nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port,
    ):
        filters = ""
        if args.plugin:
            code = Path(tmp) / "bench_plugin.wasm"
            code.write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
            filters = PLUGIN_FILTER.format(code=code)
        config = gateway_config(upstream_port, filters)
        for tree in args.trees:
            per_request = count(tree.resolve(), config, args.seconds, args.keep)
            print(f"{tree}: {per_request:,.0f} instructions per proxied request ({native_mode(tree.resolve())})")


if __name__ == "__main__":
    main()
