"""A stream's filter chains without sockets: what their ends do when a filter holds a body past the buffer limit."""

from __future__ import annotations

from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter, RouteEntry, RouteResolver
from gateway.http.connection import HttpConnection
from gateway.http.settings import HcmSettings
from gateway.http.stats import HcmStats
from gateway.stats.store import Store

LIMIT = 8


class FakeDownstream:
    def __init__(self) -> None:
        self.info = ConnectionInfo(1, ("192.0.2.7", 5555), ("127.0.0.1", 80))
        self.closed = False
        self.out = bytearray()
        self.read_disabled: list[bool] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out += data

    def read_disable(self, disabled: bool) -> None:
        self.read_disabled.append(disabled)

    def close(self, abort: bool = False, linger: float = 0.0) -> None:
        self.closed = True


class NoRoutes(RouteResolver):
    def route(self, headers: HeaderMap) -> RouteEntry | None:
        return None


class Holder(HttpFilter):
    """Holds the request body (``decode``) or the upstream's 200 response (with ``every_response``, any response),
    asking the chain to buffer the body."""

    def __init__(self, status: DataStatus, decode: bool, every_response: bool = False) -> None:
        self._status = status
        self._decode = decode
        self._every_response = every_response
        self._holding = False

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        return self._status if self._decode else DataStatus.CONTINUE

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        self._holding = not self._decode and (self._every_response or headers.status == 200)
        return HeadersStatus.STOP_ITERATION if self._holding else HeadersStatus.CONTINUE

    def encode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        return self._status if self._holding else DataStatus.CONTINUE


class Answerer(HttpFilter):
    """The last filter, in the router's place: takes the request and answers 200 with a body at its end."""

    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        return HeadersStatus.STOP_ITERATION

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        if end_stream:
            self.callbacks.encode_headers(HeaderMap([(b":status", b"200"), (b"content-length", b"16")]), False)
            self.callbacks.encode_data(b"0123456789abcdef", True)
        return DataStatus.STOP_ITERATION_NO_BUFFER


def _exchange(holder: Holder) -> tuple[FakeDownstream, Store]:
    downstream = FakeDownstream()
    store = Store()
    settings = HcmSettings(
        stat_prefix="t",
        filter_factories=(lambda: holder, Answerer),
        route_resolver=NoRoutes(),
        buffer_limit=LIMIT,
        delayed_close_timeout=0.0,
    )
    conn = HttpConnection(downstream, settings, HcmStats(store, "t"))
    conn.on_data(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\n01234")
    conn.on_data(b"56789")
    conn.on_close()
    return downstream, store


async def test_a_request_body_held_past_the_limit_is_413() -> None:
    downstream, store = _exchange(Holder(DataStatus.STOP_ITERATION_AND_BUFFER, decode=True))
    assert downstream.out.startswith(b"HTTP/1.1 413 ") and downstream.out.endswith(b"\r\n\r\nPayload Too Large")
    assert store.counter("http.t.downstream_rq_too_large").value == 1


async def test_a_request_body_held_past_the_limit_with_a_watermark_pauses_the_client() -> None:
    downstream, _ = _exchange(Holder(DataStatus.STOP_ITERATION_AND_WATERMARK, decode=True))
    assert downstream.read_disabled == [True]
    assert downstream.out == b""  # held: nothing reached the answering filter


async def test_a_response_body_held_past_the_limit_is_500() -> None:
    downstream, store = _exchange(Holder(DataStatus.STOP_ITERATION_AND_BUFFER, decode=False))
    assert downstream.out.startswith(b"HTTP/1.1 500 ") and downstream.out.endswith(b"\r\n\r\nInternal Server Error")
    assert store.counter("http.t.rs_too_large").value == 1


async def test_a_filter_holding_every_response_past_the_limit_gets_the_500_past_it() -> None:
    """The 500 for a response too large goes straight to the client (Envoy's direct local reply): through the
    filters it would be held and overflow again, without end."""
    downstream, store = _exchange(Holder(DataStatus.STOP_ITERATION_AND_BUFFER, decode=False, every_response=True))
    assert downstream.out.startswith(b"HTTP/1.1 500 ") and downstream.out.endswith(b"\r\n\r\nInternal Server Error")
    assert store.counter("http.t.rs_too_large").value == 1
