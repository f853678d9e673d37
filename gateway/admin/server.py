"""The admin listener: an asyncio Protocol over the HTTP/1.1 server codec that answers each request from the
endpoint table (``routes.dispatch``), synchronously, and logs it to the admin access logs.

Per connection: requests are answered one at a time in arrival order (the codec holds pipelined ones back until
``resume``); request bodies are read and ignored; a protocol error gets its local reply and closes the connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import cast

from gateway.accesslog import AccessLog, build_access_logs, close_all
from gateway.admin.context import AdminContext
from gateway.admin.request import AdminRequest, AdminResponse, text
from gateway.admin.routes import dispatch
from gateway.codec import make_server_codec
from gateway.codec.api import ServerCodec
from gateway.config.model import AccessLog as AccessLogConfig
from gateway.config.model import Admin, FileAccessLog
from gateway.core.events import (
    DataReceived,
    HeadersReceived,
    ProtocolErrorReceived,
    StreamEvent,
    TrailersReceived,
)
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo

_FIXED_HEADERS = ((b"cache-control", b"no-cache, max-age=0"), (b"x-content-type-options", b"nosniff"))


def build_admin_access_logs(admin: Admin) -> list[AccessLog]:
    """``admin.access_log`` plus the deprecated ``admin.access_log_path`` (a file logger in the default format)."""
    configs = list(admin.access_log)
    if admin.access_log_path:
        configs.append(AccessLogConfig("envoy.access_loggers.file", FileAccessLog(admin.access_log_path)))
    return build_access_logs(configs, "admin.access_log")


class AdminServer:
    """``await start(host, port)`` binds (port 0 picks one; ``address`` tells which); ``await stop()`` closes the
    listener, every open admin connection and the access logs."""

    def __init__(
        self,
        ctx: AdminContext,
        access_logs: Sequence[AccessLog] = (),
        codec_factory: Callable[[], ServerCodec] = make_server_codec,
    ) -> None:
        self.ctx = ctx
        self.access_logs = tuple(access_logs)
        self.codec_factory = codec_factory
        self.connections: set[_AdminConnection] = set()
        self._server: asyncio.Server | None = None
        self._connection_ids = 0

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _AdminConnection(self), host, port)
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None, "admin server not started"
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                connection.close()
            await self._server.wait_closed()
            self._server = None
        close_all(self.access_logs)

    def next_connection_id(self) -> int:
        self._connection_ids += 1
        return self._connection_ids


class _AdminConnection(asyncio.Protocol):
    def __init__(self, server: AdminServer) -> None:
        self._server = server
        self._codec = server.codec_factory()
        self._transport: asyncio.Transport | None = None
        self._closed = False
        self._info = ConnectionInfo(0, ("", 0), ("", 0))
        self._stream: StreamInfo | None = None  # the request being read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self._info = ConnectionInfo(self._server.next_connection_id(), (peer[0], peer[1]), (local[0], local[1]))
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._handle(self._codec.receive_data(data))

    def eof_received(self) -> bool:
        self._handle(self._codec.receive_eof())
        return False  # close once what was written is flushed

    def close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    def _handle(self, events: list[StreamEvent]) -> None:
        while events:
            for event in events:
                if self._closed:
                    return
                self._on_event(event)
            events = self._codec.resume()

    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, HeadersReceived):
            self._stream = StreamInfo(self._info, protocol=self._codec.protocol, request_headers=event.headers)
            if event.end_stream:
                self._respond(event.stream_id)
        elif isinstance(event, DataReceived):
            if self._stream is not None:
                self._stream.bytes_received += len(event.data)
            if event.end_stream:
                self._respond(event.stream_id)
        elif isinstance(event, TrailersReceived):
            self._respond(event.stream_id)
        elif isinstance(event, ProtocolErrorReceived):
            self._stream = StreamInfo(self._info, protocol=self._codec.protocol)
            self._send(event.stream_id, text(f"{event.error}\n", event.error.status))
            self.close()
        else:  # StreamReset, ConnectionTerminated: nothing left to answer
            self.close()

    def _respond(self, stream_id: int) -> None:
        assert self._stream is not None and self._stream.request_headers is not None
        headers = self._stream.request_headers
        request = AdminRequest.parse(headers.method or b"GET", headers.path or b"/")
        try:
            response = dispatch(self._server.ctx, request)
        except Exception as exc:  # a handler bug must not take the admin listener down with it
            response = text(f"internal error: {exc!r}\n", 500)
        self._send(stream_id, response)
        if response.after is not None:
            asyncio.get_running_loop().call_soon(response.after)

    def _send(self, stream_id: int, response: AdminResponse) -> None:
        body = response.body.encode()
        headers = HeaderMap(
            [
                (b":status", b"%d" % response.status),
                (b"content-type", response.content_type.encode()),
                (b"content-length", b"%d" % len(body)),
                *_FIXED_HEADERS,
            ]
        )
        self._codec.send_headers(stream_id, headers, end_stream=False)
        self._codec.send_data(stream_id, body, end_stream=True)
        if self._transport is not None:
            self._transport.write(self._codec.data_to_send())
        self._log(headers, response.status, len(body))
        if self._codec.should_close:
            self.close()

    def _log(self, response_headers: HeaderMap, status: int, body_size: int) -> None:
        stream, self._stream = self._stream, None
        if stream is None or not self._server.access_logs:
            return
        stream.response_headers = response_headers
        stream.response_code = status
        request = stream.request_headers
        stream.bytes_sent = 0 if request is not None and request.method == b"HEAD" else body_size
        stream.end_monotonic = time.monotonic()
        for log in self._server.access_logs:
            log.log(stream)
