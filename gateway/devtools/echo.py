"""A small HTTP/1.1 echo upstream: the bundled default config routes to it, and so do the quick-try commands.

Each response is JSON describing the request (method, path, headers, body size, and the body itself when it is
text). Request headers steer it, for trying the gateway's behaviour by hand:
``x-echo-status`` (response status), ``x-echo-delay-ms`` (wait before answering), ``x-echo-body-bytes`` (reply
with that many bytes instead of JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import cast

from gateway.codec import make_server_codec
from gateway.codec.api import CodecLimits, ServerCodec
from gateway.core.events import DataReceived, HeadersReceived, ProtocolErrorReceived, StreamEvent, TrailersReceived
from gateway.core.headers import HeaderMap

_MAX_DELAY_MS = 60_000
_MAX_BODY_BYTES = 64 * 1024 * 1024


class EchoProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self._codec: ServerCodec = make_server_codec("httptools", CodecLimits())
        self._transport: asyncio.Transport | None = None
        self._headers: HeaderMap | None = None
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self._handle(self._codec.receive_data(data))

    def _handle(self, events: Sequence[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, HeadersReceived):
                self._headers = event.headers
                self._body = bytearray()
                if event.end_stream:
                    self._respond(event.stream_id)
            elif isinstance(event, DataReceived):
                self._body += event.data
                if event.end_stream:
                    self._respond(event.stream_id)
            elif isinstance(event, TrailersReceived):
                self._respond(event.stream_id)
            elif isinstance(event, ProtocolErrorReceived) and self._transport is not None:
                self._transport.close()
                return

    def _respond(self, stream_id: int) -> None:
        headers = self._headers
        assert headers is not None
        delay = min(_int(headers.get(b"x-echo-delay-ms")), _MAX_DELAY_MS)
        if delay:
            asyncio.get_running_loop().call_later(delay / 1000, self._send, stream_id, headers, bytes(self._body))
        else:
            self._send(stream_id, headers, bytes(self._body))

    def _send(self, stream_id: int, headers: HeaderMap, body: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        status = _int(headers.get(b"x-echo-status")) or 200
        size = headers.get(b"x-echo-body-bytes")
        if size is not None:
            payload = b"x" * min(_int(size), _MAX_BODY_BYTES)
            content_type = b"application/octet-stream"
        else:
            payload = json.dumps(_describe(headers, body)).encode()
            content_type = b"application/json"
        response = HeaderMap.from_list(
            [
                (b":status", str(status).encode()),
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
            ]
        )
        head_request = headers.method == b"HEAD"
        self._codec.send_headers(stream_id, response, head_request or not payload)
        if payload and not head_request:
            self._codec.send_data(stream_id, payload, True)
        self._transport.write(self._codec.data_to_send())
        if self._codec.should_close:
            self._transport.close()
            return
        self._handle(self._codec.resume())


def _int(raw: bytes | None) -> int:
    return int(raw) if raw is not None and raw.isdigit() else 0


def _describe(headers: HeaderMap, body: bytes) -> dict[str, object]:
    description: dict[str, object] = {
        "method": (headers.method or b"").decode("latin-1"),
        "path": (headers.path or b"").decode("latin-1"),
        # As on the wire: the codec turned Host into :authority, so it is shown as host again.
        "headers": {
            ("host" if name == b":authority" else name.decode("latin-1")): value.decode("latin-1")
            for name, value in headers
            if name[:1] != b":" or name == b":authority"
        },
        "body_bytes": len(body),
    }
    with contextlib.suppress(UnicodeDecodeError):
        description["body"] = body.decode("utf-8")
    return description


async def serve(host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(EchoProtocol, host, port)


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP/1.1 echo upstream for trying the gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()

    async def run() -> None:
        server = await serve(args.host, args.port)
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
