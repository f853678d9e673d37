"""Micro-benchmark of the HTTP/1.1 codecs on one core: a proxy's per-request codec work, per backend.

Per request: the server codec parses a typical browser-ish GET and writes a small response; the client codec
writes the request upstream and parses the upstream's response. Prints requests/s per backend and the ratio.
Run: .venv/bin/python bench/codec_parse.py [seconds-per-backend]
"""

from __future__ import annotations

import sys
import time

from gateway.codec import BACKENDS, make_client_codec, make_server_codec
from gateway.core.events import HeadersReceived
from gateway.core.headers import HeaderMap

REQUEST = (
    b"GET /cart/items?id=42 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
    b"Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate\r\nCookie: session=abcdef0123456789\r\nX-Request-Id: 1234\r\n\r\n"
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nDate: Wed, 25 Nov 2026\r\n"
    b"Server: upstream\r\n\r\n{\"items\": []}"
)


def run(backend: str, seconds: float) -> float:
    server = make_server_codec(backend)
    client = make_client_codec(backend)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            (event,) = server.receive_data(REQUEST)
            assert isinstance(event, HeadersReceived)
            stream_id = client.next_stream_id()
            client.send_headers(stream_id, event.headers, True)
            client.data_to_send()
            head, body = client.receive_data(RESPONSE)
            assert isinstance(head, HeadersReceived)
            server.send_headers(event.stream_id, HeaderMap(head.headers.pairs()), False)
            server.send_data(event.stream_id, body.data, True)  # type: ignore[union-attr]
            server.data_to_send()
            server.resume()
        count += 1000
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rates = {backend: run(backend, seconds) for backend in BACKENDS}
    for backend, rate in rates.items():
        print(f"{backend:10} {rate:10.0f} proxied requests/s (codec work only, one core)")
    print(f"httptools/h11 ratio: {rates['httptools'] / rates['h11']:.1f}")


if __name__ == "__main__":
    main()
