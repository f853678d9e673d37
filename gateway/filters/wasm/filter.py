"""Envoy's Wasm HTTP filter: each filter callback becomes the plugin's proxy-wasm callback on the stream's
context, and the plugin's requests (resume, local reply, reset, properties) come back as stream callbacks.

Bodies: abi holds whatever the plugin keeps back, so this filter never asks the chain to buffer: a stop is
reported as STOP_ITERATION_NO_BUFFER, and when the plugin lets the body go the chunk is replaced by everything it
held (``data[:] = ...``) and passed on. A resume from a callout or timer (``proxy_continue_stream``), or trailers
the plugin lets pass, hand the held bytes to the chain ahead of what follows.
"""

from __future__ import annotations

from typing import Final

from abi.host import LocalReply, StreamHost
from abi.plugin import Plugin
from abi.stream import HttpStream
from abi.types import FilterDataStatus, FilterTrailersStatus, Status
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter, StreamFilterCallbacks, TrailersStatus
from gateway.filters.wasm.attributes import stream_attribute

_HEADERS: Final = {int(s): s for s in HeadersStatus}
_CONTINUE_DATA: Final = FilterDataStatus.CONTINUE
_DATA_CONTINUE: Final = DataStatus.CONTINUE
_TRAILERS: Final = {int(s): s for s in TrailersStatus}
_ROUTE_ATTRIBUTES: Final = frozenset(("xds.route_name", "route_name", "xds.cluster_name", "cluster_name"))


class WasmFilter(HttpFilter, StreamHost):
    __slots__ = ("_plugin", "_stream")

    def __init__(self, plugin: Plugin) -> None:
        self._plugin = plugin
        self._stream: HttpStream | None = None

    def set_callbacks(self, callbacks: StreamFilterCallbacks) -> None:
        self.callbacks = callbacks
        self._stream = HttpStream(self._plugin, self)

    # -- decode path --
    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        assert self._stream is not None
        return _HEADERS[self._stream.on_request_headers(headers.pairs(), end_stream)]

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        assert self._stream is not None
        status, forward = self._stream.on_request_body(data, end_stream)
        return _pass_body(status, forward, data)

    def decode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        stream = self._stream
        assert stream is not None
        status = stream.on_request_trailers(trailers.pairs())
        held = stream.drain_request_body() if status == FilterTrailersStatus.CONTINUE else b""
        if held:  # a body the plugin held without an end (trailers followed) goes on ahead of them
            self.callbacks.add_decoded_data(held)
        return _TRAILERS[status]

    # -- encode path --
    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        assert self._stream is not None
        return _HEADERS[self._stream.on_response_headers(headers.pairs(), end_stream)]

    def encode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        assert self._stream is not None
        status, forward = self._stream.on_response_body(data, end_stream)
        return _pass_body(status, forward, data)

    def encode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        stream = self._stream
        assert stream is not None
        status = stream.on_response_trailers(trailers.pairs())
        held = stream.drain_response_body() if status == FilterTrailersStatus.CONTINUE else b""
        if held:
            self.callbacks.add_encoded_data(held)
        return _TRAILERS[status]

    # -- end of stream --
    def on_log(self, stream_info: StreamInfo) -> None:
        if self._stream is not None:
            self._stream.on_log()

    def on_destroy(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.on_destroy()

    # -- StreamHost: what the plugin asks of the stream --
    def continue_request(self) -> Status:
        stream = self._stream
        if stream is None:
            return Status.NOT_FOUND
        held = stream.drain_request_body()
        if held:
            self.callbacks.add_decoded_data(held)
        self.callbacks.continue_decoding()
        return Status.OK

    def continue_response(self) -> Status:
        stream = self._stream
        if stream is None:
            return Status.NOT_FOUND
        held = stream.drain_response_body()
        if held:
            self.callbacks.add_encoded_data(held)
        self.callbacks.continue_encoding()
        return Status.OK

    def send_local_reply(self, reply: LocalReply) -> None:
        self.callbacks.send_local_reply(
            reply.status,
            reply.body,
            HeaderMap(reply.headers) if reply.headers else None,
            details=reply.details or "wasm_local_reply",
            grpc_status=reply.grpc_status,
        )

    def reset_stream(self, details: str) -> None:
        self.callbacks.reset_stream(ResponseFlag.LOCAL_RESET, details)

    def attribute(self, name: str) -> object | None:
        if name in _ROUTE_ATTRIBUTES:
            return self._route_attribute(name)
        return stream_attribute(self.callbacks.stream_info, name)

    def _route_attribute(self, name: str) -> str | None:
        # Envoy resolves the route before the filters run; route() resolves it once per stream and caches it.
        route = self.callbacks.route()
        if "cluster" in name:
            return self.callbacks.stream_info.cluster_name or (route.cluster_name if route is not None else None)
        return route.name if route is not None else None

    def clear_route_cache(self) -> Status:
        self.callbacks.clear_route_cache()
        return Status.OK


class WasmFilterFactory:
    """One plugin's per-stream filter factory (``filters.api.FilterFactory``), a class so that it runs compiled: a
    lambda would run as interpreted code on every stream."""

    __slots__ = ("_plugin",)

    def __init__(self, plugin: Plugin) -> None:
        self._plugin = plugin

    def __call__(self) -> WasmFilter:
        return WasmFilter(self._plugin)


def _pass_body(status: FilterDataStatus, forward: bytes | bytearray, data: bytearray) -> DataStatus:
    if status == _CONTINUE_DATA:
        if forward is not data:  # abi hands the chunk back itself when it neither held nor changed it
            data[:] = forward
        return _DATA_CONTINUE
    # abi keeps what the plugin holds back, so the chain must not buffer it a second time, and the chunk is
    # emptied: the chain lets data past a filter that stops while a later filter (the router) holds its
    # stop point, and what the plugin holds must not reach the upstream twice.
    data.clear()
    return DataStatus.STOP_ITERATION_NO_BUFFER
