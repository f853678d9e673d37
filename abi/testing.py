"""Test any proxy-wasm plugin from pytest, without a proxy: real modules run in real wasmtime VMs.

    from abi.testing import CONTINUE, Harness

    def test_adds_header():
        h = Harness.load("plugins/add_header.wasm", configuration=b'{"name": "x-hello", "value": "world"}')
        s = h.stream()
        assert s.send_request_headers({":method": "GET", ":path": "/", ":authority": "example"}) == CONTINUE
        s.send_response_headers({":status": "200"}, end_of_stream=True)
        assert s.response_header("x-hello") == "world"
        s.complete()
        assert not h.errors()

What the harness emulates (as Envoy's filter manager and the `envoy.filters.http.wasm` filter would):
  * streams: `send_request_headers/_body/_trailers`, `send_response_headers/_body/_trailers` return the
    plugin's decision; a stop from a headers callback holds later body/trailers until the plugin resumes;
    bytes the plugin lets through are collected in `forwarded_request_body` / `forwarded_response_body`;
  * local replies, as Envoy's filter manager sends them: recorded in `local_reply` (every request in
    `local_replies`); before any response exists the reply runs through the plugin's response callbacks; one
    requested from the response path replaces the response directly (no callback runs again); one requested
    after the response headers went downstream resets the stream;
  * HTTP callouts: `h.http_calls` lists them; answer with `call.respond(...)` or `call.fail()`; a callout
    whose timeout elapses (`h.advance_time`) is answered 504 as Envoy's async client does;
  * time: a virtual clock; `h.advance_time(seconds)` fires ticks and timers, `h.run_pending()` delivers
    posted work (shared-queue notifications);
  * logs (`h.logs`, `h.log_messages(level)`), metrics (`h.metric(name)`), stats (`h.stats`), properties
    (`h.properties` for root-level attributes, `stream(properties=...)` for stream attributes).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from abi.host import (
    Cancellable,
    HttpCallRequest,
    HttpCallResponse,
    LocalReply,
    Metric,
    MetricSink,
    Pairs,
    PluginFailure,
    PluginHost,
    StreamHost,
)
from abi.limits import DEFAULT_LIMITS, Limits
from abi.plugin import HttpStream, Plugin, PluginConfig, PluginStats
from abi.runtime import VmRegistry, load_module
from abi.types import (
    FailurePolicy,
    FilterDataStatus,
    FilterHeadersStatus,
    FilterTrailersStatus,
    LogLevel,
    MetricType,
    Status,
)
from abi.vm import WasmEngine

HeadersLike = Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[str | bytes, str | bytes]]

CONTINUE = FilterHeadersStatus.CONTINUE
STOP = FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK

_START_WALL_NS = 1_700_000_000_000_000_000  # fixed, so plugin output is reproducible


def _b(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def to_pairs(headers: HeadersLike | None) -> Pairs:
    """Normalise a dict or list of str/bytes pairs into the ABI's lower-case byte pairs."""
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(_b(k).lower(), _b(v)) for k, v in items]


def _get(pairs: Pairs, name: str) -> str | None:
    key = name.lower().encode()
    return next((v.decode("utf-8", "replace") for k, v in pairs if k == key), None)


class LogEntry(NamedTuple):
    level: LogLevel
    message: str


@dataclass
class HttpCall:
    """A callout the plugin started; answer it with `respond` or `fail` (delivered immediately)."""

    request: HttpCallRequest
    _deliver: Callable[[HttpCallResponse | None], None]
    answered: bool = False

    @property
    def cluster(self) -> str:
        return self.request.cluster

    def header(self, name: str) -> str | None:
        return _get(self.request.headers, name)

    def respond(
        self,
        status: int = 200,
        headers: HeadersLike | None = None,
        body: bytes = b"",
        trailers: HeadersLike | None = None,
    ) -> None:
        self._answer(
            HttpCallResponse([(b":status", str(status).encode()), *to_pairs(headers)], body, to_pairs(trailers))
        )

    def fail(self) -> None:
        """The callout was reset: the plugin gets (0, 0, 0) and `proxy_get_status` BROKEN_CONNECTION."""
        self._answer(None)

    def _answer(self, response: HttpCallResponse | None) -> None:
        if self.answered:
            raise RuntimeError("this HTTP call was already answered")
        self.answered = True
        self._deliver(response)


class _Timer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _HarnessHost(PluginHost):
    def __init__(self, harness: Harness) -> None:
        self.h = harness

    def log(self, level: LogLevel, message: str) -> None:
        self.h.logs.append(LogEntry(level, message))

    def log_level(self) -> LogLevel:
        return self.h.log_level

    def wall_time_ns(self) -> int:
        return _START_WALL_NS + self.h.now_ns

    def monotonic_ns(self) -> int:
        return self.h.now_ns

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable:
        return self.h._schedule(delay_s, callback)

    def post(self, callback: Callable[[], None]) -> None:
        self.h._posted.append(callback)

    def http_call(self, request: HttpCallRequest, on_response: Callable[[HttpCallResponse | None], None]) -> Status:
        if self.h.clusters is not None and request.cluster not in self.h.clusters:
            return Status.BAD_ARGUMENT
        call = HttpCall(request, on_response)
        self.h.http_calls.append(call)
        if request.timeout_ms:

            def timeout() -> None:
                if not call.answered:
                    call.respond(504, {"content-type": "text/plain"}, b"upstream request timeout")

            self.h._schedule(request.timeout_ms / 1000, timeout)
        return Status.OK

    def define_metric(self, kind: MetricType, name: str) -> MetricSink:
        metric = self.h.metrics.get(name)
        if metric is None:
            metric = self.h.metrics[name] = Metric(kind, name)
        return metric

    def attribute(self, name: str) -> object | None:
        return self.h.properties.get(name)

    def foreign_function(self, name: str, arguments: bytes) -> tuple[Status, bytes] | None:
        function = self.h.foreign_functions.get(name)
        return function(arguments) if function is not None else None

    def plugin_failed(self, failure: PluginFailure) -> None:
        self.h.failures.append(failure)


class Harness:
    """One plugin loaded in its own VM, with an in-memory host."""

    def __init__(
        self,
        code: bytes,
        *,
        name: str = "test",
        root_id: str = "",
        vm_id: str = "",
        configuration: bytes | str = b"",
        vm_configuration: bytes | str = b"",
        environment: Mapping[str, str] | None = None,
        failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
        allow_on_headers_stop_iteration: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        clusters: Iterable[str] | None = None,
        properties: Mapping[str, object] | None = None,
        log_level: LogLevel = LogLevel.TRACE,
        engine: WasmEngine | None = None,
    ) -> None:
        """Load and configure the plugin; raises `abi.errors.PluginLoadError` like the gateway would."""
        self.logs: list[LogEntry] = []
        self.metrics: dict[str, Metric] = {}
        self.http_calls: list[HttpCall] = []
        self.failures: list[PluginFailure] = []
        self.clusters = set(clusters) if clusters is not None else None
        self.properties: dict[str, object] = dict(properties or {})
        self.foreign_functions: dict[str, Callable[[bytes], tuple[Status, bytes]]] = {}
        self.log_level = log_level
        self.now_ns = 0
        self._timers: list[tuple[int, int, _Timer, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._posted: list[Callable[[], None]] = []
        self.host = _HarnessHost(self)
        self.config = PluginConfig(
            name,
            root_id,
            vm_id,
            _b(configuration),
            _b(vm_configuration),
            dict(environment or {}),
            failure_policy,
            allow_on_headers_stop_iteration,
            limits,
        )
        self.module = load_module(code, name, engine)
        self.plugin = Plugin(self.module, self.config, self.host, VmRegistry())

    @classmethod
    def load(cls, wasm: str | Path | bytes, **options: Any) -> Harness:
        """`wasm` is a path to a .wasm file or the module's bytes; options as for the constructor."""
        code = wasm if isinstance(wasm, bytes) else Path(wasm).read_bytes()
        return cls(code, **options)

    # -- streams ------------------------------------------------------------------------------------

    def stream(self, properties: Mapping[str, object] | None = None) -> Stream:
        """A new HTTP stream (context created when its first callback runs)."""
        return Stream(self, properties or {})

    # -- time and scheduled work --------------------------------------------------------------------

    def _schedule(self, delay_s: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer()
        due = self.now_ns + max(0, int(delay_s * 1e9))
        heapq.heappush(self._timers, (due, next(self._seq), timer, callback))
        return timer

    def advance_time(self, seconds: float) -> None:
        """Move the clock forward, firing ticks/timers due on the way (in order), then posted work."""
        end = self.now_ns + int(seconds * 1e9)
        while self._timers and self._timers[0][0] <= end:
            due, _, timer, callback = heapq.heappop(self._timers)
            self.now_ns = max(self.now_ns, due)
            if not timer.cancelled:
                callback()
            self.run_pending()
        self.now_ns = end
        self.run_pending()

    def run_pending(self) -> None:
        """Deliver posted work (shared-queue notifications)."""
        while self._posted:
            self._posted.pop(0)()

    # -- assertions helpers -------------------------------------------------------------------------

    def log_messages(self, level: LogLevel | None = None) -> list[str]:
        return [e.message for e in self.logs if level is None or e.level == level]

    def errors(self) -> list[str]:
        """Log lines at ERROR or CRITICAL, plus VM failures: a healthy run has none."""
        return [e.message for e in self.logs if e.level >= LogLevel.ERROR] + [
            f"{f.kind}: {f.message}" for f in self.failures
        ]

    def metric(self, name: str) -> int:
        """A metric's value (KeyError if the plugin never defined it)."""
        return self.metrics[name].value()

    def pending_http_calls(self) -> list[HttpCall]:
        return [c for c in self.http_calls if not c.answered]

    @property
    def stats(self) -> PluginStats:
        return self.plugin.stats

    def close(self) -> None:
        """Shut the plugin down (proxy_on_done / proxy_on_delete of its root context)."""
        self.plugin.close()


class Stream(StreamHost):
    """One HTTP stream through the plugin, driven like Envoy's filter manager drives a filter."""

    def __init__(self, harness: Harness, properties: Mapping[str, object]) -> None:
        self.h = harness
        self.properties: dict[str, object] = dict(properties)
        self.http = HttpStream(harness.plugin, self)
        self.request_headers: Pairs = []
        self.request_trailers: Pairs = []
        self.response_headers: Pairs = []
        self.response_trailers: Pairs = []
        self.forwarded_request_body = b""
        self.forwarded_response_body = b""
        self.local_reply: LocalReply | None = None
        self.local_replies: list[LocalReply] = []
        self.reset_details: str | None = None
        self.continued = [0, 0]  # resumes of request / response
        self.actions: list[tuple[str, object]] = []  # (callback, decision) in order
        self.route_cache_cleared = 0
        self._held: list[list[tuple[str, Any]]] = [[], []]  # events held behind a stop-all on headers
        self._blocked = [False, False]
        self._response_started = False  # response headers entered the plugin's encode path
        self._response_sent = False  # response headers went downstream: no local reply possible now
        self._replaced = False  # a direct local reply answered: later response events are dropped

    # -- request ------------------------------------------------------------------------------------

    def send_request_headers(self, headers: HeadersLike, end_of_stream: bool = False) -> FilterHeadersStatus:
        self.request_headers = to_pairs(headers)
        status = self.http.on_request_headers(self.request_headers, end_of_stream)
        return self._headers_done("request_headers", 0, status)

    def send_request_body(self, data: bytes, end_of_stream: bool = True) -> FilterDataStatus | None:
        """The plugin's decision, or None when the data was held behind a paused headers phase."""
        return self._data(0, data, end_of_stream)

    def send_request_trailers(self, trailers: HeadersLike) -> FilterTrailersStatus | None:
        self.request_trailers = to_pairs(trailers)
        return self._trailers(0, self.request_trailers)

    # -- response -----------------------------------------------------------------------------------

    def send_response_headers(self, headers: HeadersLike, end_of_stream: bool = False) -> FilterHeadersStatus:
        if self._replaced:
            return FilterHeadersStatus.CONTINUE  # a direct local reply already answered the client
        self._response_started = True
        self.response_headers = to_pairs(headers)
        status = self.http.on_response_headers(self.response_headers, end_of_stream)
        if status == FilterHeadersStatus.CONTINUE:
            self._response_sent = True
        return self._headers_done("response_headers", 1, status)

    def send_response_body(self, data: bytes, end_of_stream: bool = True) -> FilterDataStatus | None:
        return self._data(1, data, end_of_stream)

    def send_response_trailers(self, trailers: HeadersLike) -> FilterTrailersStatus | None:
        self.response_trailers = to_pairs(trailers)
        return self._trailers(1, self.response_trailers)

    def complete(self) -> None:
        """End of stream: proxy_on_log, proxy_on_done, proxy_on_delete (Envoy's order)."""
        self.http.on_log()
        self.http.on_destroy()

    # -- the filter-manager emulation ---------------------------------------------------------------

    def _headers_done(self, name: str, direction: int, status: FilterHeadersStatus) -> FilterHeadersStatus:
        self.actions.append((name, status))
        if status not in (FilterHeadersStatus.CONTINUE, FilterHeadersStatus.STOP_ITERATION):
            self._blocked[direction] = True  # StopAll: body and trailers wait for the resume
        return status

    def _data(self, direction: int, data: bytes, end_of_stream: bool) -> FilterDataStatus | None:
        if direction == 1 and self._replaced:
            return None
        if self._blocked[direction]:
            self._held[direction].append(("data", (data, end_of_stream)))
            return None
        call = self.http.on_request_body if direction == 0 else self.http.on_response_body
        status, forwarded = call(data, end_of_stream)
        self.actions.append(("request_body" if direction == 0 else "response_body", status))
        self._forward(direction, forwarded)
        created = self.http.added_trailers[direction]
        if created:  # the plugin created trailers at the end of the body: they travel on with it
            if direction == 0:
                self.request_trailers = created
            else:
                self.response_trailers = created
        return status

    def _trailers(self, direction: int, trailers: Pairs) -> FilterTrailersStatus | None:
        if direction == 1 and self._replaced:
            return None
        if self._blocked[direction]:
            self._held[direction].append(("trailers", trailers))
            return None
        call = self.http.on_request_trailers if direction == 0 else self.http.on_response_trailers
        status = call(trailers)
        self.actions.append(("request_trailers" if direction == 0 else "response_trailers", status))
        if status == FilterTrailersStatus.CONTINUE:
            self._forward(
                direction, self.http.drain_request_body() if direction == 0 else self.http.drain_response_body()
            )
        return status

    def _forward(self, direction: int, data: bytes | bytearray) -> None:
        if direction == 0:
            self.forwarded_request_body += data
        else:
            self.forwarded_response_body += data

    def _resume(self, direction: int) -> Status:
        self.continued[direction] += 1
        if direction == 1:
            self._response_sent = True
        self._blocked[direction] = False
        self._forward(direction, self.http.drain_request_body() if direction == 0 else self.http.drain_response_body())
        held, self._held[direction] = self._held[direction], []
        for kind, value in held:
            if kind == "data":
                self._data(direction, *value)
            else:
                self._trailers(direction, value)
        return Status.OK

    # -- StreamHost ---------------------------------------------------------------------------------

    def continue_request(self) -> Status:
        return self._resume(0)

    def continue_response(self) -> Status:
        return self._resume(1)

    def send_local_reply(self, reply: LocalReply) -> None:
        self.local_replies.append(reply)
        if self._response_sent:
            # Envoy cannot start a second response once headers went out: the stream is reset instead.
            self.reset_stream("local_reply_after_response_started")
            return
        headers = [(b":status", str(reply.status).encode()), *reply.headers]
        if reply.grpc_status is not None:
            headers.append((b"grpc-status", str(reply.grpc_status).encode()))
        self.local_reply = reply
        if self._response_started:
            # Requested from the encode path (response headers not yet sent): Envoy sends it straight to the
            # codec without running the filters again, replacing the response in flight.
            self.response_headers, self.forwarded_response_body = headers, reply.body
            self._response_sent = self._replaced = True
            return
        self.send_response_headers(headers, end_of_stream=not reply.body)
        if reply.body:
            self.send_response_body(reply.body, end_of_stream=True)

    def reset_stream(self, details: str) -> None:
        self.reset_details = details

    def clear_route_cache(self) -> Status:
        self.route_cache_cleared += 1
        return Status.OK

    def attribute(self, name: str) -> object | None:
        if name in self.properties:
            return self.properties[name]
        return self._derived(name)

    def _derived(self, name: str) -> object | None:
        """Attributes computed from what the stream carried, as Envoy derives them."""
        compute = _DERIVED.get(name)
        value = compute(self) if compute is not None else None
        return value if value is not None else self.h.properties.get(name)

    # -- assertion helpers --------------------------------------------------------------------------

    def request_header(self, name: str) -> str | None:
        """The first value of a request header as forwarded upstream (None if absent)."""
        return _get(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _get(self.response_headers, name)

    def request_header_values(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("utf-8", "replace") for k, v in self.request_headers if k == key]

    def response_header_values(self, name: str) -> list[str]:
        key = name.lower().encode()
        return [v.decode("utf-8", "replace") for k, v in self.response_headers if k == key]

    @property
    def status(self) -> int | None:
        """The response status the client gets (from the local reply or the response headers)."""
        value = _get(self.response_headers, ":status")
        return int(value) if value is not None and value.isdigit() else None


def _joined(pairs: Pairs) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in pairs:
        k, v = key.decode("utf-8", "replace"), value.decode("utf-8", "replace")
        merged[k] = f"{merged[k]},{v}" if k in merged else v
    return merged


def _path_part(stream: Stream, part: int) -> str | None:
    path = _get(stream.request_headers, ":path")
    if path is None:
        return None
    pieces = path.split("?", 1)
    return pieces[part] if part < len(pieces) else ""


def _status(stream: Stream) -> int | None:
    value = _get(stream.response_headers, ":status")
    return int(value) if value is not None and value.isdigit() else None


# Stream attributes the harness derives from the headers it carried; anything else comes from the
# `properties` given to `Harness.stream()` or to the Harness (root-level).
_DERIVED: dict[str, Callable[[Stream], object | None]] = {
    "request.path": lambda s: _get(s.request_headers, ":path"),
    "request.url_path": lambda s: _path_part(s, 0),
    "request.query": lambda s: _path_part(s, 1),
    "request.host": lambda s: _get(s.request_headers, ":authority"),
    "request.scheme": lambda s: _get(s.request_headers, ":scheme"),
    "request.method": lambda s: _get(s.request_headers, ":method"),
    "request.referer": lambda s: _get(s.request_headers, "referer"),
    "request.useragent": lambda s: _get(s.request_headers, "user-agent"),
    "request.id": lambda s: _get(s.request_headers, "x-request-id"),
    "request.protocol": lambda s: "HTTP/1.1",
    "request.headers": lambda s: _joined(s.request_headers) if s.request_headers else None,
    "response.code": _status,
    "response.headers": lambda s: _joined(s.response_headers) if s.response_headers else None,
    "response.trailers": lambda s: _joined(s.response_trailers) if s.response_trailers else None,
    "source.address": lambda s: "127.0.0.1:40000",
    "source.port": lambda s: 40000,
    "destination.address": lambda s: "127.0.0.1:10000",
    "destination.port": lambda s: 10000,
    "connection.id": lambda s: 1,
    "connection_id": lambda s: 1,
    "connection.mtls": lambda s: False,
}


__all__ = ["CONTINUE", "STOP", "Harness", "HttpCall", "LogEntry", "Stream", "to_pairs"]
