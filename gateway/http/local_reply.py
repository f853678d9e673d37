"""Responses the gateway makes itself (no route, upstream failures, limits), shaped as Envoy's."""

from __future__ import annotations

from gateway.core.headers import HeaderMap


def local_reply_headers(status: int, body: bytes, extra: HeaderMap | None) -> HeaderMap:
    headers = HeaderMap.from_list([(b":status", str(status).encode())])
    if body:
        headers.add(b"content-type", b"text/plain")
    headers.add(b"content-length", str(len(body)).encode())
    if extra is not None:
        for name, value in extra:
            headers.set(name, value)
    return headers
