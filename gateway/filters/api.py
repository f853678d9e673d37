"""The HTTP filter contract: phase hooks with pass-through defaults that return a status, as Envoy's
StreamDecoderFilter/StreamEncoderFilter and proxy-wasm's callbacks do.

Decode path: the connection manager calls each filter's ``decode_*`` in chain order; the router is the last
filter. Encode path: the router (or a local reply) hands response parts to ``StreamFilterCallbacks.encode_*`` and
the connection manager runs each filter's ``encode_*`` in reverse order.

Statuses (Envoy's semantics):
- headers CONTINUE passes them on; STOP_ITERATION holds them (later data still reaches this filter);
  STOP_ALL_ITERATION_AND_BUFFER holds headers and buffers all following data and trailers until
  ``continue_decoding()``/``continue_encoding()``; STOP_ALL_ITERATION_AND_WATERMARK does the same but applies flow
  control at the buffer limit instead of failing.
- data CONTINUE passes it (and headers held by STOP_ITERATION); STOP_ITERATION_AND_BUFFER buffers it and calls the
  filter again with the next chunk (the buffer is readable through ``decoding_buffer()``); past the buffer limit the
  request gets 413 (the response: 500). STOP_ITERATION_AND_WATERMARK buffers with flow control; STOP_ITERATION_NO_BUFFER
  drops nothing but keeps nothing: the filter took the data.
- trailers CONTINUE or STOP_ITERATION.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Protocol

from mypy_extensions import mypyc_attr

from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo


class HeadersStatus(IntEnum):
    CONTINUE = 0
    STOP_ITERATION = 1
    STOP_ALL_ITERATION_AND_BUFFER = 3
    STOP_ALL_ITERATION_AND_WATERMARK = 4


class DataStatus(IntEnum):
    CONTINUE = 0
    STOP_ITERATION_AND_BUFFER = 1
    STOP_ITERATION_AND_WATERMARK = 2
    STOP_ITERATION_NO_BUFFER = 3


class TrailersStatus(IntEnum):
    CONTINUE = 0
    STOP_ITERATION = 1


class RouteEntry:
    """What filters may ask of the route chosen for a stream; the router's ``RouteMatch`` extends it (a base class,
    not a Protocol: the connection manager's reads of it are then direct)."""

    __slots__ = ("name", "cluster_name", "idle_timeout", "upgrade_map")

    name: str
    cluster_name: str
    # The route's stream idle timeout (seconds); None leaves the connection manager's, 0 disables.
    idle_timeout: float | None
    # Upgrade types (lowercase) the route enables or disables, overriding the connection manager's.
    upgrade_map: Mapping[str, bool]


@mypyc_attr(allow_interpreted_subclasses=True)
class RouteResolver:
    """What resolves a stream's request headers to its route (the router's ``RouteTable``)."""

    def route(self, headers: HeaderMap) -> RouteEntry | None:
        raise NotImplementedError


class DownstreamWatermarkCallbacks(Protocol):
    """A producer of the response (the router) that stops and resumes reading its source as the downstream's
    write buffer passes its high and low marks."""

    def on_above_write_buffer_high_watermark(self) -> None: ...

    def on_below_write_buffer_low_watermark(self) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)  # the connection manager's stream implements it; test stand-ins too
class StreamFilterCallbacks:
    """What the connection manager offers each filter of one stream.

    A base class rather than a Protocol: compiled filters (the router) then call the stream's methods and read its
    values directly, where a call through a Protocol is a generic Python method call. Implementations set the
    values below and override every method.
    """

    __slots__ = ("stream_id", "stream_info", "loop", "decoder_buffer_limit", "encoder_buffer_limit")

    stream_id: int
    stream_info: StreamInfo
    loop: asyncio.AbstractEventLoop
    decoder_buffer_limit: int
    encoder_buffer_limit: int

    @property
    def request_headers(self) -> HeaderMap | None:
        return self.stream_info.request_headers

    def route(self) -> RouteEntry | None:
        """The route for the current request headers, resolved once and cached until ``clear_route_cache``."""
        raise NotImplementedError

    def clear_route_cache(self) -> None:
        raise NotImplementedError

    # -- decode path --
    def continue_decoding(self) -> None:
        """Resume a decode path this filter stopped; held headers, buffered data and trailers move on."""
        raise NotImplementedError

    def decoding_buffer(self) -> bytearray | None:
        """The request body buffered at this filter so far (None when nothing is buffered)."""
        raise NotImplementedError

    def add_decoded_data(self, data: bytes) -> None:
        """Append to the buffered request body (for a filter that rewrites it while stopped)."""
        raise NotImplementedError

    def send_local_reply(
        self,
        status: int,
        body: bytes = b"",
        headers: HeaderMap | None = None,
        details: str = "",
        flag: ResponseFlag = ResponseFlag.NONE,
        grpc_status: int | None = None,
    ) -> None:
        """Answer the stream from here; the reply runs through the encode path of the filters before this one.
        Ends the decode path: no later decode hook of any filter runs."""
        raise NotImplementedError

    # -- encode path, entered by the filter that produces the response (the router) --
    def encode_1xx_headers(self, headers: HeaderMap) -> None:
        raise NotImplementedError

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        raise NotImplementedError

    def encode_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        """Filters that encode see a bytearray they may change; bytes are copied into one only for them."""
        raise NotImplementedError

    def encode_trailers(self, trailers: HeaderMap) -> None:
        raise NotImplementedError

    def continue_encoding(self) -> None:
        raise NotImplementedError

    def encoding_buffer(self) -> bytearray | None:
        raise NotImplementedError

    def add_encoded_data(self, data: bytes) -> None:
        raise NotImplementedError

    # -- stream control --
    def reset_stream(self, flag: ResponseFlag = ResponseFlag.LOCAL_RESET, details: str = "") -> None:
        """Abort the stream; the downstream sees a reset (HTTP/1.1: the connection closes)."""
        raise NotImplementedError

    def on_decoder_filter_above_write_buffer_high_watermark(self) -> None:
        """The filter's destination for request data (the upstream) is full: stop reading the downstream."""
        raise NotImplementedError

    def on_decoder_filter_below_write_buffer_low_watermark(self) -> None:
        raise NotImplementedError

    def add_downstream_watermark_callbacks(self, callbacks: DownstreamWatermarkCallbacks) -> None:
        """Have ``callbacks`` told when the downstream's write buffer passes its high and low marks."""
        raise NotImplementedError


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled with the hot path; filters in plain Python extend it
class HttpFilter:
    """Base filter: every hook passes through. Subclasses override the phases they care about."""

    __slots__ = ("callbacks",)

    callbacks: StreamFilterCallbacks

    def set_callbacks(self, callbacks: StreamFilterCallbacks) -> None:
        self.callbacks = callbacks

    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        return HeadersStatus.CONTINUE

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        return DataStatus.CONTINUE

    def decode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        return TrailersStatus.CONTINUE

    def encode_1xx_headers(self, headers: HeaderMap) -> HeadersStatus:
        return HeadersStatus.CONTINUE

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        return HeadersStatus.CONTINUE

    def encode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        return DataStatus.CONTINUE

    def encode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        return TrailersStatus.CONTINUE

    def on_stream_complete(self) -> None:
        """The stream ended (complete or reset), before the access log is written."""

    def on_log(self, stream_info: StreamInfo) -> None:
        """Access-log time: everything about the stream is final."""

    def on_destroy(self) -> None:
        """Release anything held for the stream (timers, upstream requests, plugin contexts)."""


# A factory builds one filter per stream; it is created once at config time from the filter's config.
FilterFactory = Callable[[], HttpFilter]
