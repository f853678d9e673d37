"""In-test stand-ins for the router's neighbours: the connection manager's stream callbacks, a cluster manager and
a cluster whose pool the test drives by hand, and the upstream stream it hands out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.config.model import RouteConfiguration
from gateway.config.model import Router as RouterConfig
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo
from gateway.filters.api import DownstreamWatermarkCallbacks, RouteEntry, StreamFilterCallbacks
from gateway.filters.router import RouterFactory, RouteTable
from gateway.filters.router.filter import Router
from gateway.stats.store import Store
from gateway.upstream.api import Cancellable, Cluster, LoadBalancerContext, UpstreamCallbacks, UpstreamStream


@dataclass
class LocalReply:
    status: int
    body: bytes
    headers: HeaderMap | None
    details: str
    flag: ResponseFlag


class FakeCallbacks(StreamFilterCallbacks):
    """The connection manager's side of one stream, recording what the router does to it. Like the real one, a
    local reply after response headers went out turns into a reset."""

    def __init__(self, table: RouteTable, loop: asyncio.AbstractEventLoop, buffer_limit: int = 1 << 20) -> None:
        self.table = table
        self.stream_id = 1
        self.loop = loop
        self.info = self.stream_info = StreamInfo(ConnectionInfo(1, ("10.1.2.3", 40000), ("127.0.0.1", 10000)))
        self.decoder_buffer_limit = self.encoder_buffer_limit = buffer_limit
        self.local_replies: list[LocalReply] = []
        self.informational: list[HeaderMap] = []
        self.response_headers: HeaderMap | None = None
        self.response_end = False
        self.body = bytearray()
        self.trailers: HeaderMap | None = None
        self.resets: list[tuple[ResponseFlag, str]] = []
        self.watermark_callbacks: list[DownstreamWatermarkCallbacks] = []
        self.decoder_paused = 0

    # -- what the router reads --
    def route(self) -> RouteEntry | None:
        headers = self.info.request_headers
        return self.table.route(headers) if headers is not None else None

    def clear_route_cache(self) -> None:
        pass

    def continue_decoding(self) -> None:
        pass

    def decoding_buffer(self) -> bytearray | None:
        return None

    def add_decoded_data(self, data: bytes) -> None:
        pass

    def continue_encoding(self) -> None:
        pass

    def encoding_buffer(self) -> bytearray | None:
        return None

    def add_encoded_data(self, data: bytes) -> None:
        pass

    # -- what the router does --
    def send_local_reply(
        self,
        status: int,
        body: bytes = b"",
        headers: HeaderMap | None = None,
        details: str = "",
        flag: ResponseFlag = ResponseFlag.NONE,
        grpc_status: int | None = None,
    ) -> None:
        self.info.set_flag(flag)
        if self.response_headers is not None:
            self.reset_stream(flag, details)
            return
        self.info.response_code_details = details
        self.local_replies.append(LocalReply(status, body, headers, details, flag))

    def encode_1xx_headers(self, headers: HeaderMap) -> None:
        self.informational.append(headers)

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self.response_headers = headers
        self.response_end = end_stream

    def encode_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        self.body += data
        self.response_end = end_stream

    def encode_trailers(self, trailers: HeaderMap) -> None:
        self.trailers = trailers
        self.response_end = True

    def reset_stream(self, flag: ResponseFlag = ResponseFlag.LOCAL_RESET, details: str = "") -> None:
        self.info.set_flag(flag)
        self.resets.append((flag, details))

    def add_downstream_watermark_callbacks(self, callbacks: DownstreamWatermarkCallbacks) -> None:
        self.watermark_callbacks.append(callbacks)

    def on_decoder_filter_above_write_buffer_high_watermark(self) -> None:
        self.decoder_paused += 1

    def on_decoder_filter_below_write_buffer_low_watermark(self) -> None:
        self.decoder_paused -= 1

    @property
    def reply(self) -> LocalReply:
        assert len(self.local_replies) == 1, self.local_replies
        return self.local_replies[0]


class FakeStream(UpstreamStream):
    """An upstream stream that records what the router writes."""

    hostname = ""  # a test sets its own

    def __init__(self) -> None:
        self.host_address = "10.0.0.9:8080"
        self.local_address = "10.0.0.1:33333"
        self.sent: list[tuple[str, object, bool]] = []
        self.was_reset = False
        self.read_disabled = 0
        self.timeouts = 0

    def send_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self.sent.append(("headers", headers.copy(), end_stream))

    def send_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        self.sent.append(("data", bytes(data), end_stream))

    def send_trailers(self, trailers: HeaderMap) -> None:
        self.sent.append(("trailers", trailers, True))

    def reset(self) -> None:
        self.was_reset = True

    def read_disable(self, disabled: bool) -> None:
        self.read_disabled += 1 if disabled else -1

    def record_timeout(self) -> None:
        self.timeouts += 1

    @property
    def headers(self) -> HeaderMap:
        kind, headers, _ = self.sent[0]
        assert kind == "headers" and isinstance(headers, HeaderMap)
        return headers


class Pending:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeCluster(Cluster):
    """A cluster whose pool answers when the test says so (or at once, with ``ready_at_once``)."""

    def __init__(self, name: str, ready_at_once: bool = True) -> None:
        self.name = self.stat_name = name
        self.ready_at_once = ready_at_once
        self.callbacks: UpstreamCallbacks | None = None
        self.pending: Pending | None = None
        self.stream = FakeStream()
        self.lb_contexts: list[LoadBalancerContext] = []

    def new_stream(self, callbacks: UpstreamCallbacks, lb_context: LoadBalancerContext) -> Cancellable | None:
        self.callbacks = callbacks
        self.lb_contexts.append(lb_context)
        if self.ready_at_once:
            callbacks.on_pool_ready(self.stream)
            return None
        self.pending = Pending()
        return self.pending

    def ready(self) -> FakeStream:
        assert self.callbacks is not None
        self.callbacks.on_pool_ready(self.stream)
        return self.stream

    def fail(self, reason: ResetReason, flag: ResponseFlag, detail: str = "", host: str = "") -> None:
        assert self.callbacks is not None
        self.callbacks.on_pool_failure(reason, flag, detail, host)

    @property
    def upstream(self) -> UpstreamCallbacks:
        assert self.callbacks is not None
        return self.callbacks


class FakeClusterManager:
    def __init__(self, *clusters: FakeCluster) -> None:
        self.clusters = {c.name: c for c in clusters}

    def get(self, name: str) -> Cluster | None:
        return self.clusters.get(name)


def make_router(
    route_config: RouteConfiguration,
    cluster_manager: FakeClusterManager,
    loop: asyncio.AbstractEventLoop,
    router_config: RouterConfig | None = None,
    store: Store | None = None,
    buffer_limit: int = 1 << 20,
) -> tuple[Router, FakeCallbacks, Store]:
    store = store or Store()
    factory = RouterFactory(router_config or RouterConfig(), cluster_manager, store, "ingress")
    router = factory()
    callbacks = FakeCallbacks(RouteTable(route_config), loop, buffer_limit)
    router.set_callbacks(callbacks)
    return router, callbacks, store
