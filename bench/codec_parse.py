"""Micro-benchmark of the HTTP/1.1 codecs on one core, per backend, in requests/s.

- server: the downstream codec parses a typical browser GET (8 fields) and writes a small response.
- proxy: that plus the upstream side: the client codec writes the request and parses the upstream's response.
Run: .venv/bin/python bench/codec_parse.py [seconds-per-measurement]
"""

from __future__ import annotations

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
        server.send_headers(event.stream_id, REPLY, False)
        server.send_data(event.stream_id, b"ok", True)
        server.data_to_send()

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


def rate(once: Callable[[], None], seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        for _ in range(1000):
            once()
        count += 1000
    return count / (now - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    for name, loop in (("server", server_loop), ("proxy", proxy_loop)):
        rates = {backend: rate(loop(backend), seconds) for backend in BACKENDS}
        figures = "  ".join(f"{backend} {value:9.0f}/s" for backend, value in rates.items())
        print(f"{name:7} {figures}  httptools/h11 {rates['httptools'] / rates['h11']:.1f}x")


if __name__ == "__main__":
    main()
