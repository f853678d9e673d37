"""Shared pieces of the benchmark scripts: free ports, nginx and gateway processes, wrk runs and their parsing."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def process(
    cmd: list[str], port: int, start_timeout: float = 15.0, **kwargs: object
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]
    try:
        wait_for_port(port, start_timeout)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


NGINX_UPSTREAM = """
worker_processes 1;
daemon off;
pid {dir}/upstream.pid;
error_log {dir}/upstream-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{ default_type text/plain; return 200 "{body}"; }}
    }}
}}
"""

NGINX_PROXY = """
worker_processes 1;
daemon off;
pid {dir}/proxy.pid;
error_log {dir}/proxy-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    upstream backend {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


@contextmanager
def nginx(template: str, **values: object) -> Iterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(template.format(dir=tmp, port=port, **values))
        with process([binary, "-c", str(conf), "-p", tmp, "-e", f"{tmp}/error.log"], port):
            yield port


def gateway_config(upstream_port: int, http_filters: str = "") -> str:
    """A one-route config to ``upstream_port``; ``gateway()`` fills in the listener port."""
    return f"""
static_resources:
  listeners:
  - name: bench
    address: {{socket_address: {{address: 127.0.0.1, port_value: __PORT__}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: upstream}}
          http_filters:{http_filters}
          - name: envoy.filters.http.router
  clusters:
  - name: upstream
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream_port}}}}}}}
"""


@contextmanager
def gateway(config_text: str, *extra: str) -> Iterator[int]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        conf = Path(tmp) / "gateway.yaml"
        conf.write_text(config_text.replace("__PORT__", str(port)))
        cmd = [sys.executable, "-m", "gateway", "-c", str(conf), "-l", "warning", *extra]
        with process(cmd, port, cwd=str(ROOT), env={**os.environ, "PYTHONOPTIMIZE": "1"}):
            yield port


@dataclass
class WrkResult:
    requests_per_s: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, seconds: int, connections: int, path: str = "/", headers: Sequence[str] = ()) -> WrkResult:
    header_args = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            *header_args,
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total_errors = int(errors.group(1)) if errors else 0
    if socket_errors:
        total_errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(rps, float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"), total_errors)


# The gateway's CLI under a process-time profiler that SIGUSR2 switches on, and off again (writing the stats): a
# wall-clock profile here is dominated by preemption inside send().
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
    """utime + stime of ``pid`` (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@contextmanager
def gateway_process(
    config_text: str, codec: str = "httptools", profile: str | None = None, tree: Path = ROOT
) -> Iterator[tuple[int, int]]:
    """The gateway of source ``tree`` on ``config_text`` (``__PORT__`` is its listener): yields (port, pid).
    With ``profile``, SIGUSR2 starts and stops a CPU-time profile written to that file."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        conf = Path(tmp) / "gateway.yaml"
        conf.write_text(config_text.replace("__PORT__", str(port)))
        args = ["-c", str(conf), "-l", "warning", "--http1-codec", codec]
        cmd = [sys.executable, "-m", "gateway", *args]
        if profile is not None:
            cmd = [sys.executable, "-c", _PROFILED, profile, *args]
        # Run from the tree: ``-m gateway`` then imports that tree's package before any installed one.
        with process(cmd, port, cwd=str(tree), env={**os.environ, "PYTHONOPTIMIZE": "1"}) as proc:
            yield port, proc.pid


def native_mode(tree: Path = ROOT) -> str:
    """How the gateway of ``tree`` runs its per-request modules (gateway/native.py): ``compiled``, or plain Python
    and why (no build, a stale one, ``GATEWAY_NATIVE=0`` in the environment)."""
    code = "import gateway.native as n; print('compiled' if n.active else 'plain Python: ' + n.status)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def stop_profile(pid: int, path: str) -> None:
    """Switch a gateway_process profile off and wait until its stats are on disk."""
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # let the dump finish


def measure(
    port: int, pid: int, seconds: int, connections: int, headers: Sequence[str] = (), tolerate_errors: bool = False
) -> tuple[float, float]:
    """One wrk run: (requests/s, CPU µs per request of the gateway process)."""
    before = cpu_seconds(pid)
    result = wrk(port, seconds, connections, headers=headers)
    used = cpu_seconds(pid) - before
    if result.errors and not tolerate_errors:
        raise SystemExit(f"gateway on port {port}: {result.errors} errors in a run")
    if result.errors:  # under the profiler, slow responses can pass wrk's 2 s socket timeout
        print(f"  ({result.errors} errors: timeouts under the profiler, or failures)")
    return result.requests_per_s, used / (result.requests_per_s * seconds) * 1e6


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
