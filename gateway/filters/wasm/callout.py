"""``proxy_http_call``: one request to a cluster, answered later with the whole response (or None).

Runs on the upstream contract directly (``Cluster.new_stream``), so a callout shares the cluster's pools, load
balancing and circuit breakers with proxied traffic. States: waiting for a stream -> request sent ->
response collected -> answered, exactly once. As with Envoy's async client (which runs the router), a timeout
answers 504 and a failure to get a connection 503, each with Envoy's body; a reset after the response started
answers None (the plugin sees a failed call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from abi.host import HttpCallRequest, HttpCallResponse
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.upstream.api import Cancellable, Cluster, LoadBalancerContext, UpstreamStream

_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class HttpCallout:
    __slots__ = ("_request", "_on_response", "_stream", "_pending", "_timer", "_headers", "_body", "_done")

    def __init__(
        self,
        cluster: Cluster,
        request: HttpCallRequest,
        on_response: Callable[[HttpCallResponse | None], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._request = request
        self._on_response = on_response
        self._stream: UpstreamStream | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._done = False
        self._timer: asyncio.TimerHandle | None = None
        if request.timeout_ms > 0:
            self._timer = loop.call_later(request.timeout_ms / 1000, self._on_timeout)
        self._pending: Cancellable | None = cluster.new_stream(self, LoadBalancerContext())

    # -- outcome --
    def _finish(self, response: HttpCallResponse | None) -> None:
        if self._done:
            return
        self._done = True
        if self._timer is not None:
            self._timer.cancel()
        self._on_response(response)

    def _on_timeout(self) -> None:
        self._timer = None
        if self._pending is not None:
            self._pending.cancel()
        if self._stream is not None:
            self._stream.reset()
        # Envoy answers a timed-out callout with a synthesized 504 before the plugin's callback.
        self._finish(HttpCallResponse([(b":status", b"504")], b"upstream request timeout"))

    # -- UpstreamCallbacks --
    def on_pool_ready(self, stream: UpstreamStream) -> None:
        self._pending = None
        if self._done:
            stream.reset()
            return
        self._stream = stream
        request = self._request
        headers = HeaderMap(request.headers)
        if request.body:
            headers.set(b"content-length", str(len(request.body)).encode())
        end_after_headers = not request.body and not request.trailers
        stream.send_headers(headers, end_after_headers)
        if request.body:
            stream.send_data(request.body, not request.trailers)
        if request.trailers:
            stream.send_trailers(HeaderMap(request.trailers))

    def on_pool_failure(self, reason: ResetReason, flag: ResponseFlag, detail: str, host_address: str) -> None:
        self._pending = None
        body = f"upstream connect error or disconnect/reset before headers. reset reason: {reason.value}"
        self._finish(HttpCallResponse([(b":status", b"503")], body.encode()))

    def on_upstream_1xx_headers(self, headers: HeaderMap) -> None:
        pass

    def on_upstream_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self._headers = list(headers)
        if end_stream:
            self._finish(HttpCallResponse(self._headers, b""))

    def on_upstream_data(self, data: bytes, end_stream: bool) -> None:
        self._body += data
        if len(self._body) > _MAX_RESPONSE_BYTES:
            if self._stream is not None:
                self._stream.reset()
            self._finish(None)
            return
        if end_stream:
            self._finish(HttpCallResponse(self._headers, bytes(self._body)))

    def on_upstream_trailers(self, trailers: HeaderMap) -> None:
        self._finish(HttpCallResponse(self._headers, bytes(self._body), list(trailers)))

    def on_upstream_reset(self, reason: ResetReason, detail: str) -> None:
        if self._headers:
            self._finish(None)
        else:
            self.on_pool_failure(reason, ResponseFlag.NONE, detail, "")

    def on_upstream_above_write_buffer_high_watermark(self) -> None:
        pass

    def on_upstream_below_write_buffer_low_watermark(self) -> None:
        pass
