"""One HTTP stream through a plugin (one context id): Envoy's callback order, result mapping, body
buffering, and what a VM failure does to the stream.

State machine of `HttpStream`:

    NEW ──first callback──> ACTIVE ──on_destroy──> DONE
     │                        │
     └──VM unavailable────────┴──VM failed──> FAILED ──on_destroy──> DONE

  NEW      no context yet; created lazily by the first callback the module exports (or by on_log, as Envoy
           does). Phases whose callback the module does not export cost a check and answer Continue; a
           stream of a module without stream callbacks never gets a context.
  ACTIVE   callbacks go to the guest. Each direction is "paused" after a stop result until the plugin
           resumes it (`proxy_continue_stream`, deferred) — the maps/body of a paused phase stay readable.
  FAILED   the VM died (or none could be built). FAIL_OPEN: every later callback answers Continue and any
           paused direction is resumed. FAIL_CLOSED / FAIL_RELOAD: one 503 local reply (details
           `wasm_fail_stream`, gRPC status 14); the failing callback and the request path answer stop, the
           response path Continue once that reply went out. No further guest call is made for the stream.
  DONE     proxy_on_log/on_done/on_delete ran (each at most once); later calls are no-ops.

Body handling (reference §8.2): the stream keeps the bytes the plugin holds back. StopIterationAndBuffer
shows the plugin the whole accumulated body on the next call; StopIterationAndWatermark only the new chunk
(earlier ones stay held); StopIterationNoBuffer drops the chunk. Holding more than `max_buffer_bytes`
ends the stream with a 413 (request) or 500 (response) local reply, as Envoy does.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Final

from abi.context import StreamContext
from abi.host import LocalReply, Pairs, StreamHost
from abi.runtime import WasmVm
from abi.types import FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType
from abi.vm import GuestFunc

if TYPE_CHECKING:
    from abi.plugin import Plugin

REQUEST: Final = 0
RESPONSE: Final = 1
Chunk = bytes | bytearray  # a body chunk; the embedder's own buffer comes back when nothing changed it
FAIL_DETAILS: Final = "wasm_fail_stream"
_GRPC_UNAVAILABLE: Final = 14

# Indexes into `WasmVm.stream_callbacks` (the order of `abi.runtime.STREAM_CALLBACKS`).
REQUEST_HEADERS: Final = 0
REQUEST_BODY: Final = 1
REQUEST_TRAILERS: Final = 2
RESPONSE_HEADERS: Final = 3
RESPONSE_BODY: Final = 4
RESPONSE_TRAILERS: Final = 5
LOG: Final = 6
DONE: Final = 7
DELETE: Final = 8


class _State(Enum):
    NEW = "new"
    ACTIVE = "active"
    FAILED = "failed"
    DONE = "done"


_NEW: Final = _State.NEW
_ACTIVE: Final = _State.ACTIVE
_FAILED: Final = _State.FAILED
_DONE: Final = _State.DONE
_CONTINUE_HEADERS: Final = FilterHeadersStatus.CONTINUE
_STOP_HEADERS: Final = FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
_CONTINUE_DATA: Final = FilterDataStatus.CONTINUE
_STOP_DATA: Final = FilterDataStatus.STOP_ITERATION_NO_BUFFER
_CONTINUE_TRAILERS: Final = FilterTrailersStatus.CONTINUE
_STOP_TRAILERS: Final = FilterTrailersStatus.STOP_ITERATION
_BUFFER_DATA: Final = FilterDataStatus.STOP_ITERATION_AND_BUFFER
_DATA_STATUS: Final = tuple(FilterDataStatus)  # by a body callback's result (capped at STOP_ITERATION_NO_BUFFER)
_HEADERS_STATUS: Final = (  # by a headers callback's result 0..3; 1 is STOP_ITERATION only if the plugin allows it
    _CONTINUE_HEADERS,
    _STOP_HEADERS,
    _CONTINUE_HEADERS,  # ContinueAndEndStream, treated as Continue by Envoy
    FilterHeadersStatus.STOP_ALL_ITERATION_AND_BUFFER,
)
_REQUEST_HEADERS_MAP: Final = int(MapType.HTTP_REQUEST_HEADERS)
_RESPONSE_HEADERS_MAP: Final = int(MapType.HTTP_RESPONSE_HEADERS)
_REQUEST_TRAILERS_MAP: Final = int(MapType.HTTP_REQUEST_TRAILERS)
_RESPONSE_TRAILERS_MAP: Final = int(MapType.HTTP_RESPONSE_TRAILERS)


class HttpStream:
    """The plugin's view of one HTTP stream; the embedder's filter calls these in Envoy's order."""

    __slots__ = (
        "_added_trailers",
        "_callbacks",
        "_ctx",
        "_ended",
        "_failed",
        "_failure_replied",
        "_paused",
        "_replied",
        "_saved",
        "_vm",
        "host",
        "plugin",
        "state",
    )

    def __init__(self, plugin: Plugin, host: StreamHost) -> None:
        self.plugin = plugin
        self.host = host
        self.state = _NEW
        self._vm: WasmVm | None = None
        self._ctx: StreamContext | None = None
        self._callbacks: tuple[GuestFunc | None, ...] = ()  # the VM's stream callbacks, once ACTIVE
        self._paused = 0  # bit 1 << direction: that direction stopped and waits for the plugin
        # Maps kept for proxy_on_log, when the module exports it.
        self._saved: dict[int, Pairs] | None = {} if plugin.exports[LOG] else None
        self._failure_replied = False
        self._failed = False
        self._replied = False
        self._ended = False  # on_log/on_destroy began: a failure now must not touch the response
        self._added_trailers: list[Pairs] | None = None  # made when a body callback first may create trailers

    @property
    def added_trailers(self) -> list[Pairs]:
        """Trailers the plugin created from a final body callback, per direction (empty: none)."""
        return self._added_trailers if self._added_trailers is not None else [[], []]

    # -- context plumbing ---------------------------------------------------------------------------

    def _context(self, callback: int = REQUEST_HEADERS, fail_if_unavailable: bool = True) -> StreamContext | None:
        """The context for a phase of a stream not yet ACTIVE: created when the guest can see it (the
        phase's callback or proxy_on_context_create is exported), else None with the state left NEW.
        Either way the VM must be usable: if it is not, the stream fails (state FAILED)."""
        if self.state is not _NEW:
            return None
        plugin = self.plugin
        if not plugin.makes_context[callback]:
            vm = plugin.vm  # nothing to call: only the failure policy applies (a healthy VM: one check)
            if (vm is None or vm.vm.failed is not None) and plugin.live_vm() is None and fail_if_unavailable:
                self._fail()
            return None
        vm, root = plugin.vm, plugin.root
        if vm is None or root is None or vm.vm.failed is not None or vm.contexts.get(root.id) is not root:
            live = plugin.live_vm()  # failed or closed: rebuilt unless backing off
            if live is None:
                if fail_if_unavailable:
                    self._fail()
                return None
            vm, root = live
        context_id = vm.next_context_id
        vm.next_context_id = context_id + 1
        ctx = StreamContext(context_id, root, self.host, self)
        vm.contexts[context_id] = ctx
        self._vm, self._ctx, self._callbacks, self.state = vm, ctx, vm.stream_callbacks, _ACTIVE
        if vm.context_create is not None:
            vm.run(ctx, vm.context_create, (context_id, root.id))
        return ctx if self.state is _ACTIVE else None

    def _call(self, ctx: StreamContext, func: GuestFunc, args: tuple[int, ...]) -> int | None:
        """Run a callback; None if the VM failed. Sets `_replied` when it sent a local response (whose
        deferred delivery has already run the response path by the time this returns)."""
        vm = self._vm
        assert vm is not None
        replies = ctx.local_reply
        result = vm.run(ctx, func, args)
        self._replied = ctx.local_reply != replies
        if result is None:
            if self.state is _ACTIVE:
                self._fail()  # the VM was already gone (closed under us): same outcome as a failure
            return None
        return result if self.state is _ACTIVE else None  # (guest results are unsigned)

    def _vm_gone(self) -> bool:
        """For a phase with nothing to call: whether the VM of this ACTIVE stream died or was closed (the
        stream then fails now, as Envoy fails it at its next callback)."""
        vm = self._vm
        if vm is None or vm.vm.failed is None:
            return False
        self._fail()
        return True

    def vm_failed(self) -> None:
        """The VM died (maybe in another stream's callback): apply the failure policy now."""
        if self.state is _ACTIVE:
            self._fail()

    def _fail(self) -> None:
        self.state = _FAILED
        self._failed = True
        stats = self.plugin.stats
        if self.plugin.fail_open:
            stats.streams_failed_open += 1
            for direction in (REQUEST, RESPONSE):
                if self._paused >> direction & 1:
                    self.resume(direction)
        elif not self._ended:
            stats.streams_failed_closed += 1
            self._failure_replied = True
            self.host.send_local_reply(LocalReply(503, b"", [], FAIL_DETAILS, _GRPC_UNAVAILABLE))

    def _failed_stop(self, direction: int, failing_call: bool) -> bool:
        """Whether a failed stream answers "stop": never when fail-open; always for the callback that failed
        and on the request path (nothing more goes upstream); on the response path only until our 503
        has been sent, so that reply passes. A stream still NEW had nothing to call: Continue."""
        if self.state is _NEW or self.plugin.fail_open:
            return False
        return failing_call or direction == REQUEST or not self._failure_replied

    # -- deferred effects (StreamOwner) -------------------------------------------------------------

    def resume(self, direction: int) -> None:
        self._paused &= ~(1 << direction)
        ctx = self._ctx
        if ctx is not None:
            base = _REQUEST_HEADERS_MAP if direction == REQUEST else _RESPONSE_HEADERS_MAP
            ctx.withdraw(base)
            ctx.withdraw(base + 1)  # the trailers
            if ctx.bodies is not None:
                ctx.bodies[direction].available = False
        if direction == REQUEST:
            self.host.continue_request()
        else:
            self.host.continue_response()

    def close(self) -> None:
        self.host.reset_stream("wasm_close_stream")

    def local_reply(self, reply: LocalReply) -> None:
        self.host.send_local_reply(reply)

    def drain_request_body(self) -> bytes:
        """Bytes the plugin held back, to forward when the request continues (after a resume)."""
        return self._drain(REQUEST)

    def drain_response_body(self) -> bytes:
        return self._drain(RESPONSE)

    def _drain(self, direction: int) -> bytes:
        ctx = self._ctx
        if ctx is None or ctx.bodies is None:
            return b""
        body = ctx.bodies[direction]
        data = bytes(body.held)
        body.held.clear()
        body.start = 0
        return data

    # -- headers ------------------------------------------------------------------------------------

    def on_request_headers(self, headers: Pairs, end_of_stream: bool) -> FilterHeadersStatus:
        if self._saved is not None:
            self._saved[_REQUEST_HEADERS_MAP] = headers
        return self._headers(REQUEST_HEADERS, _REQUEST_HEADERS_MAP, REQUEST, headers, end_of_stream)

    def on_response_headers(self, headers: Pairs, end_of_stream: bool) -> FilterHeadersStatus:
        if self._saved is not None:
            self._saved[_RESPONSE_HEADERS_MAP] = headers
        return self._headers(RESPONSE_HEADERS, _RESPONSE_HEADERS_MAP, RESPONSE, headers, end_of_stream)

    def _headers(
        self, callback: int, map_type: int, direction: int, headers: Pairs, end_of_stream: bool
    ) -> FilterHeadersStatus:
        ctx = self._ctx if self.state is _ACTIVE else self._context(callback)
        if ctx is None:
            return _STOP_HEADERS if self._failed_stop(direction, False) else _CONTINUE_HEADERS
        func = self._callbacks[callback]
        if func is None:
            if self._vm_gone() and self._failed_stop(direction, True):
                return _STOP_HEADERS
            return _CONTINUE_HEADERS
        maps = ctx.maps  # (`ctx.expose` and `ctx.withdraw` inlined: every headers phase passes here)
        maps[map_type] = headers
        ctx.writable |= 1 << map_type
        vm = self._vm
        assert vm is not None
        if vm.headers_end_of_stream:
            raw = self._call(ctx, func, (ctx.id, len(headers), 1 if end_of_stream else 0))
        else:
            raw = self._call(ctx, func, (ctx.id, len(headers)))
        if raw is None:
            return _STOP_HEADERS if self._failed_stop(direction, True) else _CONTINUE_HEADERS
        if self._replied:
            status = _STOP_HEADERS  # a local reply is the plugin's final word for this phase
        elif raw > 3:
            status = _STOP_HEADERS
        else:
            status = _HEADERS_STATUS[raw]
            if status is _CONTINUE_HEADERS:
                if map_type in maps:  # (a deferred resume may have withdrawn it already; `del`: pop is a generic call)
                    del maps[map_type]
                ctx.writable &= ~(1 << map_type)
                return status
            if raw == 1 and self.plugin.config.allow_on_headers_stop_iteration:
                status = FilterHeadersStatus.STOP_ITERATION
        self._paused |= 1 << direction  # a stop keeps the map readable while paused
        return status

    # -- bodies -------------------------------------------------------------------------------------

    def on_request_body(self, data: Chunk, end_of_stream: bool) -> tuple[FilterDataStatus, Chunk]:
        """Returns (CONTINUE, bytes to forward now) or (a stop status, b"") while the plugin holds data.
        When nothing was held or changed, the bytes forwarded are `data` itself (the same object).
        After the last chunk, `added_trailers[0]` holds trailers the plugin created (send them on)."""
        return self._body(REQUEST_BODY, REQUEST, data, end_of_stream)

    def on_response_body(self, data: Chunk, end_of_stream: bool) -> tuple[FilterDataStatus, Chunk]:
        return self._body(RESPONSE_BODY, RESPONSE, data, end_of_stream)

    def _body(self, callback: int, direction: int, data: Chunk, end_of_stream: bool) -> tuple[FilterDataStatus, Chunk]:
        ctx = self._ctx if self.state is _ACTIVE else self._context(callback)
        if ctx is None:
            if self._failed_stop(direction, False):
                return _STOP_DATA, b""
            held = self._drain(direction)
            return _CONTINUE_DATA, (held + data) if held else data
        func = self._callbacks[callback]
        if func is None:  # nothing is ever held without a body callback
            if self._vm_gone() and self._failed_stop(direction, True):
                return _STOP_DATA, b""
            return _CONTINUE_DATA, data
        body = ctx.body(direction)
        body.held += data
        body.start = 0 if body.mode == _BUFFER_DATA else (len(body.held) - len(data))
        body.available = True
        # At the end of a body without trailers, the plugin may create them (Envoy's addDecodedTrailers).
        trailer_map = _REQUEST_TRAILERS_MAP if direction == REQUEST else _RESPONSE_TRAILERS_MAP
        created: Pairs | None = None
        if end_of_stream and trailer_map not in ctx.maps:
            created = []
            ctx.expose(trailer_map, created)
        raw = self._call(ctx, func, (ctx.id, len(body.held) - body.start, 1 if end_of_stream else 0))
        if created is not None:
            ctx.withdraw(trailer_map)
            if self._added_trailers is None:
                self._added_trailers = [[], []]
            self._added_trailers[direction] = created
        if raw is None:
            if self._failed_stop(direction, True):
                return _STOP_DATA, b""
            return _CONTINUE_DATA, self._drain(direction)  # held bytes include this chunk
        status = _STOP_DATA if self._replied else _DATA_STATUS[min(raw, _STOP_DATA)]
        body.mode = status
        if status == _CONTINUE_DATA:
            body.available = False
            return status, self._drain(direction)
        self._paused |= 1 << direction
        if status == _STOP_DATA:
            del body.held[body.start :]  # the plugin took this chunk
        elif len(body.held) > self.plugin.config.limits.max_buffer_bytes:
            body.held.clear()
            self._too_large(direction)
            return _STOP_DATA, b""
        return status, b""

    def _too_large(self, direction: int) -> None:
        if direction == REQUEST:
            reply = LocalReply(413, b"Payload Too Large", [], "request_payload_too_large")
        else:
            reply = LocalReply(500, b"Internal Server Error", [], "response_payload_too_large")
        self.host.send_local_reply(reply)

    # -- trailers -----------------------------------------------------------------------------------

    def on_request_trailers(self, trailers: Pairs) -> FilterTrailersStatus:
        """On CONTINUE, forward `drain_request_body()` (bytes the plugin held) before the trailers."""
        return self._trailers(REQUEST_TRAILERS, _REQUEST_TRAILERS_MAP, REQUEST, trailers)

    def on_response_trailers(self, trailers: Pairs) -> FilterTrailersStatus:
        """On CONTINUE, forward `drain_response_body()` before the trailers."""
        if self._saved is not None:
            self._saved[_RESPONSE_TRAILERS_MAP] = trailers
        return self._trailers(RESPONSE_TRAILERS, _RESPONSE_TRAILERS_MAP, RESPONSE, trailers)

    def _trailers(self, callback: int, map_type: int, direction: int, trailers: Pairs) -> FilterTrailersStatus:
        ctx = self._ctx if self.state is _ACTIVE else self._context(callback)
        if ctx is None:
            return _STOP_TRAILERS if self._failed_stop(direction, False) else _CONTINUE_TRAILERS
        func = self._callbacks[callback]
        if func is None:
            if self._vm_gone() and self._failed_stop(direction, True):
                return _STOP_TRAILERS
            return _CONTINUE_TRAILERS
        ctx.expose(map_type, trailers)
        raw = self._call(ctx, func, (ctx.id, len(trailers)))
        if raw is None:
            return _STOP_TRAILERS if self._failed_stop(direction, True) else _CONTINUE_TRAILERS
        if raw != 0 or self._replied:
            self._paused |= 1 << direction  # a stop keeps the map readable while paused
            return _STOP_TRAILERS
        ctx.withdraw(map_type)
        return _CONTINUE_TRAILERS

    # -- end of stream ------------------------------------------------------------------------------

    def on_log(self) -> None:
        """Access-log time (Envoy: before on_done). Request/response headers and response trailers of the
        finished stream are readable."""
        self._ended = True
        ctx = self._ctx if self.state is _ACTIVE else self._context(LOG, fail_if_unavailable=False)
        if ctx is None:
            return
        func = self._callbacks[LOG]
        if func is None:
            self._vm_gone()
            return
        ctx.writable = 0
        ctx.maps = dict(self._saved or {})
        ctx.logging = True
        self._call(ctx, func, (ctx.id,))

    def on_destroy(self) -> None:
        """The stream is gone: proxy_on_done then proxy_on_delete (each once)."""
        self._ended = True
        ctx, vm = self._ctx, self._vm
        if self.state is _ACTIVE and ctx is not None and vm is not None:
            callbacks = self._callbacks
            done = callbacks[DONE]
            if done is not None:
                vm.run(ctx, done, (ctx.id,))
            if vm.vm.failed is None:
                delete = callbacks[DELETE]
                if delete is not None and vm.contexts.get(ctx.id) is ctx:
                    vm.run(ctx, delete, (ctx.id,))
                contexts = vm.contexts
                if ctx.id in contexts:
                    del contexts[ctx.id]
        if not self._failed:
            self.plugin.stream_succeeded()
        self.state = _DONE
        self._ctx = None
