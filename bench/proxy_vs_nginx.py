"""Requests/s and p99 latency of the gateway against nginx, both as one-worker reverse proxies to the same nginx
upstream, in alternating wrk runs. Prints the medians and the ratios.

    .venv/bin/python bench/proxy_vs_nginx.py [--rounds 3] [--seconds 5] [--connections 32] [--http1-codec h11]
"""

from __future__ import annotations

import argparse

from common import NGINX_PROXY, NGINX_UPSTREAM, gateway, gateway_config, median, native_mode, nginx, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--http1-codec", default="httptools")
    args = parser.parse_args()
    mode = native_mode()

    results: dict[str, list[tuple[float, float]]] = {"nginx": [], "gateway": []}
    with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
        config = gateway_config(upstream_port)
        with (
            nginx(NGINX_PROXY, upstream_port=upstream_port) as nginx_port,
            gateway(config, "--http1-codec", args.http1_codec) as gateway_port,
        ):
            for port in (nginx_port, gateway_port):  # warm both up
                wrk(port, 1, args.connections)
            for _ in range(args.rounds):
                for name, port in (("nginx", nginx_port), ("gateway", gateway_port)):
                    r = wrk(port, args.seconds, args.connections)
                    if r.errors:
                        raise SystemExit(f"{name}: {r.errors} errors in a run")
                    results[name].append((r.requests_per_s, r.p99_ms))
                    print(f"  {name:8s} {r.requests_per_s:10.0f} req/s   p99 {r.p99_ms:7.2f} ms", flush=True)

    rps = {k: median([r for r, _ in v]) for k, v in results.items()}
    p99 = {k: median([p for _, p in v]) for k, v in results.items()}
    print(f"\nmedians over {args.rounds} rounds of {args.seconds}s, {args.connections} connections, one worker each:")
    print(f"  nginx    {rps['nginx']:10.0f} req/s   p99 {p99['nginx']:7.2f} ms")
    print(
        f"  gateway  {rps['gateway']:10.0f} req/s   p99 {p99['gateway']:7.2f} ms   "
        f"(HTTP/1 codec: {args.http1_codec}; {mode})"
    )
    print(
        f"  ratio    requests/s gateway/nginx = {rps['gateway'] / rps['nginx']:.2f}   "
        f"p99 gateway/nginx = {p99['gateway'] / p99['nginx']:.2f}"
    )


if __name__ == "__main__":
    main()
