"""Micro-benchmark of the HTTP/1.1 codecs on one core, per backend: CPU µs and Python calls per request.

- server: the downstream codec parses a typical browser GET (7 fields) and writes a small response.
- client: the upstream codec writes that request and parses a typical upstream response (4 fields, a body).
- proxy: both, as one proxied request uses them.

CPU time (``time.process_time``), not wall time, so that other work on a shared machine counts less; each figure
is the best of several rounds. Calls are counted by cProfile (Python functions and the builtins they call).
Run: .venv/bin/python bench/codec_parse.py [rounds] [--profile]   (--profile: the top of a CPU-time profile)

On a busy machine CPU time still moves by 10-30% between runs; instruction counts do not. ``--run LOOP BACKEND N``
runs one loop N times (after a warm-up) and prints nothing, for callgrind: the difference between N and 0 runs,
divided by N, is the loop's instructions per iteration, the same from run to run with a fixed hash seed:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/codec_parse.py --run proxy httptools 1000
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable

from gateway.codec import BACKENDS, make_client_codec, make_server_codec
from gateway.core.events import DataReceived, HeadersReceived
from gateway.core.headers import HeaderMap

REQUEST = (
    b"GET /cart/items?id=42 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
    b"Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate\r\nCookie: session=abcdef0123456789\r\nX-Request-Id: 1234\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nDate: Wed, 25 Nov 2026\r\n"
    b'Server: upstream\r\n\r\n{"items": []}'
)
REPLY = HeaderMap([(b":status", b"200"), (b"content-type", b"text/plain"), (b"content-length", b"2")])


def server_loop(backend: str) -> Callable[[], None]:
    server = make_server_codec(backend)

    def once() -> None:
        (event,) = server.receive_data(REQUEST)
        assert isinstance(event, HeadersReceived)
        server.send_headers(event.stream_id, REPLY, False)
        server.send_data(event.stream_id, b"ok", True)
        server.data_to_send()

    return once


def client_loop(backend: str) -> Callable[[], None]:
    (parsed,) = make_server_codec(backend).receive_data(REQUEST)
    assert isinstance(parsed, HeadersReceived)
    request = parsed.headers
    client = make_client_codec(backend)

    def once() -> None:
        stream_id = client.next_stream_id()
        client.send_headers(stream_id, request, True)
        client.data_to_send()
        head, body = client.receive_data(RESPONSE)
        assert isinstance(head, HeadersReceived) and isinstance(body, DataReceived)

    return once


def proxy_loop(backend: str) -> Callable[[], None]:
    server = make_server_codec(backend)
    client = make_client_codec(backend)

    def once() -> None:
        (event,) = server.receive_data(REQUEST)
        assert isinstance(event, HeadersReceived)
        stream_id = client.next_stream_id()
        client.send_headers(stream_id, event.headers, True)
        client.data_to_send()
        head, body = client.receive_data(RESPONSE)
        assert isinstance(head, HeadersReceived) and isinstance(body, DataReceived)
        server.send_headers(event.stream_id, head.headers, False)
        server.send_data(event.stream_id, body.data, True)
        server.data_to_send()

    return once


def cpu_us(once: Callable[[], None], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        once()
    return (time.process_time() - start) / count * 1e6


def profiled(once: Callable[[], None], count: int = 1000) -> pstats.Stats:
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(count):
        once()
    profile.disable()
    return pstats.Stats(profile)


LOOPS = {"server": server_loop, "client": client_loop, "proxy": proxy_loop}


def run_only(loop: str, backend: str, count: int) -> None:
    once = LOOPS[loop](backend)
    for _ in range(50):  # warm-up: the first calls fill caches (tokens seen, specialised bytecode)
        once()
    for _ in range(count):
        once()


def main() -> None:
    if sys.argv[1:2] == ["--run"]:
        loop, backend, count = sys.argv[2:5]
        run_only(loop, backend, int(count))
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 7
    show_profile = "--profile" in sys.argv
    loops = LOOPS
    for name, make in loops.items():
        figures = []
        for backend in BACKENDS:
            once = make(backend)
            count = 5000 if backend == "httptools" else 500
            best = min(cpu_us(once, count) for _ in range(rounds))
            stats = profiled(once, count // 5)
            figures.append(f"{backend} {best:6.1f} µs {stats.total_calls / (count // 5):4.0f} calls")  # type: ignore[attr-defined]
            if show_profile and backend == "httptools":
                out = io.StringIO()
                stats.stream = out  # type: ignore[attr-defined]
                stats.sort_stats("tottime").print_stats(15)
                print(out.getvalue())
        print(f"{name:7} " + "   ".join(figures))


if __name__ == "__main__":
    main()
