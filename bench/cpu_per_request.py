"""CPU time the gateway process spends per proxied request (user + system, from /proc/<pid>/stat over wrk runs),
with the same one-route config and nginx upstream as proxy_vs_nginx.py. CPU time, unlike requests/s, barely moves
when other processes share the cores, so it compares changes on a busy machine.

    .venv/bin/python bench/cpu_per_request.py [--rounds 3] [--seconds 5] [--connections 32] [--http1-codec h11]
                                              [--profile FILE | --against TREE]

``--profile FILE`` runs the gateway under cProfile timed by ``time.process_time`` (CPU only: a wall-clock profile
here is dominated by preemption inside send()), profiling only the measured runs, writes the pstats to FILE and
prints Python function calls per request (the profiler's own overhead inflates the CPU figure in that mode).

``--against TREE`` compares this tree with another copy of the ``gateway`` package (e.g. made by
``git archive HEAD~3 gateway | tar -x -C /tmp/old``): both gateways run at once against the same upstream, wrk runs
alternate between them (the order flips each round), and the median of the paired ratios is printed. On a shared
machine, where a single figure moves by 15% from run to run, this is the comparison to trust.
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
from pathlib import Path

from common import (
    NGINX_UPSTREAM,
    gateway_config,
    gateway_process,
    measure,
    median,
    native_mode,
    nginx,
    stop_profile,
    wrk,
)


def compare(args: argparse.Namespace, config: str) -> None:
    with (
        gateway_process(config, args.http1_codec, None) as (port, pid),
        gateway_process(config, args.http1_codec, None, Path(args.against)) as (other_port, other_pid),
    ):
        runs: dict[str, list[float]] = {"this": [], "other": []}
        sides = [("this", port, pid), ("other", other_port, other_pid)]
        for _, p, _ in sides:
            wrk(p, 1, args.connections)  # warm up
        for i in range(args.rounds):
            for name, p, q in sides if i % 2 == 0 else sides[::-1]:
                rps, cpu = measure(p, q, args.seconds, args.connections)
                print(f"  port {p}: {rps:8.0f} req/s   {cpu:6.1f} µs CPU/request", flush=True)
                runs[name].append(cpu)
    ratios = [a / b for a, b in zip(runs["this"], runs["other"], strict=True)]
    print(f"\nHTTP/1 codec {args.http1_codec}, median µs CPU/request: this tree {median(runs['this']):.1f}, ", end="")
    print(f"{args.against} {median(runs['other']):.1f}; median paired ratio this/other {median(ratios):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--http1-codec", default="httptools", choices=("httptools", "h11"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--profile", metavar="FILE", help="write a CPU-time cProfile of the measured runs")
    mode.add_argument("--against", metavar="TREE", help="compare with the gateway package under TREE, paired")
    args = parser.parse_args()
    print(f"this tree: {native_mode()}")
    if args.against:
        print(f"{args.against}: {native_mode(Path(args.against))}")
        with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
            compare(args, gateway_config(upstream_port))
        return

    if args.profile and os.path.exists(args.profile):
        os.remove(args.profile)
    per_request: list[float] = []
    total_requests = 0.0
    with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
        config = gateway_config(upstream_port)
        with gateway_process(config, args.http1_codec, args.profile) as (port, pid):
            wrk(port, 1, args.connections)  # warm up: connections, caches, lazily created stats
            if args.profile:
                os.kill(pid, signal.SIGUSR2)
            for _ in range(args.rounds):
                rps, cpu = measure(port, pid, args.seconds, args.connections, tolerate_errors=bool(args.profile))
                print(f"  {rps:8.0f} req/s   {cpu:6.1f} µs CPU/request", flush=True)
                total_requests += rps * args.seconds
                per_request.append(cpu)
            if args.profile:
                stop_profile(pid, args.profile)

    print(f"\nHTTP/1 codec {args.http1_codec}: median {median(per_request):.1f} µs CPU/request", end="")
    print(" (under the profiler)" if args.profile else "")
    if args.profile:
        calls = pstats.Stats(args.profile).total_calls  # type: ignore[attr-defined]
        print(f"  {calls / total_requests:.0f} Python function calls/request; profile in {args.profile}")


if __name__ == "__main__":
    main()
