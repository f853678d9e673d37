"""What each of our plugins (plugins/*) costs per request through the gateway: the gateway with the plugin in
front of the router, against the same one-route gateway without it, in alternating wrk runs to one nginx upstream.
Prints, per plugin, requests/s and the gateway process's CPU µs per request with and without it, and the
difference (the plugin's cost). The requests are ones the plugin lets through (a valid JWT, a bucket that never
empties, an authorization service that allows), so the whole plugin lifecycle runs on each.

    .venv/bin/python bench/plugins_overhead.py [--rounds 3] [--seconds 4] [--connections 32] [PLUGIN ...]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import time

from common import NGINX_UPSTREAM, ROOT, gateway_config, gateway_process, measure, median, nginx, wrk

_SECRET = "bench-secret"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token() -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": "bench", "sub": "user-1", "exp": int(time.time()) + 3600}).encode())
    signature = hmac.new(_SECRET.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{_b64(signature)}"


# Plugin name -> (its configuration, request headers that make it let the request through).
PLUGINS: dict[str, tuple[dict[str, object], list[str]]] = {
    "header_rewrite": (
        {"request": {"add": {"x-client": "{source.address}"}}, "response": {"set": {"x-plugin": "header_rewrite"}}},
        [],
    ),
    "jwt_auth": (
        {"keys": [{"secret": _SECRET}], "issuer": "bench", "claims_to_headers": {"sub": "x-user-id"}},
        [f"authorization: Bearer {_token()}"],
    ),
    "rate_limit": ({"capacity": 1_000_000_000, "refill_tokens": 1, "refill_interval_ms": 1000}, []),
    # The authorization service is the nginx upstream itself: it answers 200 to every check.
    "ext_authz": ({"cluster": "upstream", "path_prefix": "/check", "timeout_ms": 1000}, []),
    "json_redact": ({"fields": ["password"], "mask": "[redacted]"}, []),
}

_FILTER = """
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {name}
                root_id: {name}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: '{configuration}'
                vm_config:
                  vm_id: bench_{name}
                  runtime: envoy.wasm.runtime.v8
                  code: {{local: {{filename: "{code}"}}}}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("plugins", nargs="*", default=list(PLUGINS), help=f"some of: {', '.join(PLUGINS)}")
    args = parser.parse_args()
    unknown = sorted(set(args.plugins) - set(PLUGINS))
    if unknown:
        parser.error(f"unknown plugin(s): {', '.join(unknown)}")

    rows: list[tuple[str, float, float, float, float]] = []
    with nginx(NGINX_UPSTREAM, body="hello from upstream\\n") as upstream_port:
        for name in args.plugins:
            configuration, headers = PLUGINS[name]
            code = ROOT / "plugins" / name / f"{name}.wasm"
            snippet = _FILTER.format(name=name, configuration=json.dumps(configuration), code=code)
            results: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
            with (
                gateway_process(gateway_config(upstream_port)) as (plain_port, plain_pid),
                gateway_process(gateway_config(upstream_port, snippet)) as (plugin_port, plugin_pid),
            ):
                for port in (plain_port, plugin_port):  # warm up
                    wrk(port, 1, args.connections, headers=headers)
                for _ in range(args.rounds):
                    for side, port, pid in (("without", plain_port, plain_pid), ("with", plugin_port, plugin_pid)):
                        results[side].append(measure(port, pid, args.seconds, args.connections, headers))
            rps = {side: median([r for r, _ in runs]) for side, runs in results.items()}
            cpu = {side: median([c for _, c in runs]) for side, runs in results.items()}
            rows.append((name, rps["without"], rps["with"], cpu["without"], cpu["with"]))
            print(f"  {name:15s} done", flush=True)

    print(f"\nmedians over {args.rounds} rounds of {args.seconds}s, {args.connections} connections, one worker:")
    print(
        f"  {'plugin':15s} {'req/s without':>14s} {'req/s with':>11s} {'CPU µs without':>15s} "
        f"{'CPU µs with':>12s} {'plugin cost µs':>15s}"
    )
    for name, rps_without, rps_with, cpu_without, cpu_with in rows:
        print(
            f"  {name:15s} {rps_without:14.0f} {rps_with:11.0f} {cpu_without:15.1f} {cpu_with:12.1f} "
            f"{cpu_with - cpu_without:15.1f}"
        )


if __name__ == "__main__":
    main()
