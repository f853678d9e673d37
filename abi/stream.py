"""One HTTP stream through a plugin (one context id): Envoy's callback order, result mapping, body
buffering, and what a VM failure does to the stream.

State machine of `HttpStream`:

    NEW ──first callback──> ACTIVE ──on_destroy──> DONE
     │                        │
     └──VM unavailable────────┴──VM failed──> FAILED ──on_destroy──> DONE

  NEW      no context yet; created lazily by the first callback (or by on_log, as Envoy does).
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
from typing import TYPE_CHECKING

from abi.context import StreamContext
from abi.host import LocalReply, Pairs, StreamHost
from abi.memory import U32
from abi.runtime import WasmVm
from abi.types import AbiVersion, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, MapType

if TYPE_CHECKING:
    from abi.plugin import Plugin

REQUEST, RESPONSE = 0, 1
FAIL_DETAILS = "wasm_fail_stream"
_GRPC_UNAVAILABLE = 14


class _State(Enum):
    NEW = "new"
    ACTIVE = "active"
    FAILED = "failed"
    DONE = "done"


_STOP_HEADERS = FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK


class HttpStream:
    """The plugin's view of one HTTP stream; the embedder's filter calls these in Envoy's order."""

    def __init__(self, plugin: Plugin, host: StreamHost) -> None:
        self.plugin = plugin
        self.host = host
        self.state = _State.NEW
        self._vm: WasmVm | None = None
        self._ctx: StreamContext | None = None
        self._paused = [False, False]
        self._body_mode = [FilterDataStatus.CONTINUE, FilterDataStatus.CONTINUE]
        self._saved: dict[int, Pairs] = {}  # maps kept for proxy_on_log
        self._failure_replied = False
        self._failed = False
        self._replied = False
        self._ended = False  # on_log/on_destroy began: a failure now must not touch the response
        # Trailers the plugin created from a final body callback, per direction (empty: none).
        self.added_trailers: list[Pairs] = [[], []]

    # -- context plumbing ---------------------------------------------------------------------------

    def _context(self, fail_if_unavailable: bool = True) -> StreamContext | None:
        if self.state is _State.ACTIVE:
            return self._ctx
        if self.state is not _State.NEW:
            return None
        live = self.plugin.live_vm()
        if live is None:
            if fail_if_unavailable:
                self._fail()
            return None
        vm, root = live
        ctx = StreamContext(vm.new_id(), root, self.host, self)
        vm.contexts[ctx.id] = ctx
        self._vm, self._ctx, self.state = vm, ctx, _State.ACTIVE
        vm.guarded(ctx, "proxy_on_context_create", ctx.id, root.id)
        return self._ctx if self.state is _State.ACTIVE else None

    def _call(self, name: str, *args: int) -> int | None:
        """Run a callback; None if the VM failed. Sets `_replied` when it sent a local response (whose
        deferred delivery has already run the response path by the time this returns)."""
        ctx, vm = self._ctx, self._vm
        assert ctx is not None and vm is not None
        replies = ctx.local_reply
        result = vm.guarded(ctx, name, *args)
        self._replied = ctx.local_reply != replies
        if result is None and self.state is _State.ACTIVE:
            self._fail()  # the VM was already gone (closed under us): same outcome as a failure
        return None if result is None or self.state is not _State.ACTIVE else result & U32

    def vm_failed(self) -> None:
        """The VM died (maybe in another stream's callback): apply the failure policy now."""
        if self.state is _State.ACTIVE:
            self._fail()

    def _fail(self) -> None:
        self.state = _State.FAILED
        self._failed = True
        stats = self.plugin.stats
        if self.plugin.fail_open:
            stats.streams_failed_open += 1
            for direction in (REQUEST, RESPONSE):
                if self._paused[direction]:
                    self.resume(direction)
        elif not self._ended:
            stats.streams_failed_closed += 1
            self._failure_replied = True
            self.host.send_local_reply(LocalReply(503, b"", [], FAIL_DETAILS, _GRPC_UNAVAILABLE))

    def _failed_stop(self, direction: int, failing_call: bool) -> bool:
        """Whether a failed stream answers "stop": never when fail-open; always for the callback that failed
        and on the request path (nothing more goes upstream); on the response path only until our 503
        has been sent, so that reply passes."""
        if self.plugin.fail_open:
            return False
        return failing_call or direction == REQUEST or not self._failure_replied

    # -- deferred effects (StreamOwner) -------------------------------------------------------------

    def resume(self, direction: int) -> None:
        self._paused[direction] = False
        ctx = self._ctx
        if ctx is not None:
            base = MapType.HTTP_REQUEST_HEADERS if direction == REQUEST else MapType.HTTP_RESPONSE_HEADERS
            for map_type in (base, base + 1):
                ctx.maps.pop(map_type, None)
                ctx.writable.discard(map_type)
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
        if ctx is None:
            return b""
        body = ctx.bodies[direction]
        data = bytes(body.held)
        body.held.clear()
        body.start = 0
        return data

    # -- headers ------------------------------------------------------------------------------------

    def on_request_headers(self, headers: Pairs, end_of_stream: bool) -> FilterHeadersStatus:
        self._saved[MapType.HTTP_REQUEST_HEADERS] = headers
        return self._headers("proxy_on_request_headers", MapType.HTTP_REQUEST_HEADERS, REQUEST, headers, end_of_stream)

    def on_response_headers(self, headers: Pairs, end_of_stream: bool) -> FilterHeadersStatus:
        self._saved[MapType.HTTP_RESPONSE_HEADERS] = headers
        return self._headers(
            "proxy_on_response_headers", MapType.HTTP_RESPONSE_HEADERS, RESPONSE, headers, end_of_stream
        )

    def _headers(
        self, name: str, map_type: int, direction: int, headers: Pairs, end_of_stream: bool
    ) -> FilterHeadersStatus:
        ctx = self._context()
        if ctx is None:
            return _STOP_HEADERS if self._failed_stop(direction, False) else FilterHeadersStatus.CONTINUE
        ctx.maps[map_type] = headers
        ctx.writable.add(map_type)
        if self._vm is not None and self._vm.abi_version == AbiVersion.V0_1_0:
            raw = self._call(name, ctx.id, len(headers))
        else:
            raw = self._call(name, ctx.id, len(headers), int(end_of_stream))
        if raw is None:
            return _STOP_HEADERS if self._failed_stop(direction, True) else FilterHeadersStatus.CONTINUE
        if self._replied:
            status = _STOP_HEADERS  # a local reply is the plugin's final word for this phase
        elif raw == 0 or raw == 2:  # 2 = ContinueAndEndStream, treated as Continue by Envoy
            status = FilterHeadersStatus.CONTINUE
        elif raw == 1:
            status = (
                FilterHeadersStatus.STOP_ITERATION
                if self.plugin.config.allow_on_headers_stop_iteration
                else _STOP_HEADERS
            )
        elif raw == 3:
            status = FilterHeadersStatus.STOP_ALL_ITERATION_AND_BUFFER
        else:
            status = _STOP_HEADERS
        self._after(ctx, map_type, direction, status != FilterHeadersStatus.CONTINUE)
        return status

    def _after(self, ctx: StreamContext, map_type: int, direction: int, stopped: bool) -> None:
        """A phase continued: its map is gone for the plugin (Envoy); a stop keeps it while paused."""
        if stopped:
            self._paused[direction] = True
        else:
            ctx.maps.pop(map_type, None)
            ctx.writable.discard(map_type)

    # -- bodies -------------------------------------------------------------------------------------

    def on_request_body(self, data: bytes, end_of_stream: bool) -> tuple[FilterDataStatus, bytes]:
        """Returns (CONTINUE, bytes to forward now) or (a stop status, b"") while the plugin holds data.
        After the last chunk, `added_trailers[0]` holds trailers the plugin created (send them on)."""
        return self._body("proxy_on_request_body", REQUEST, data, end_of_stream)

    def on_response_body(self, data: bytes, end_of_stream: bool) -> tuple[FilterDataStatus, bytes]:
        return self._body("proxy_on_response_body", RESPONSE, data, end_of_stream)

    def _body(self, name: str, direction: int, data: bytes, end_of_stream: bool) -> tuple[FilterDataStatus, bytes]:
        ctx = self._context()
        if ctx is None:
            if self._failed_stop(direction, False):
                return FilterDataStatus.STOP_ITERATION_NO_BUFFER, b""
            return FilterDataStatus.CONTINUE, self._drain(direction) + data
        body = ctx.bodies[direction]
        body.held += data
        body.start = (
            0
            if self._body_mode[direction] == FilterDataStatus.STOP_ITERATION_AND_BUFFER
            else (len(body.held) - len(data))
        )
        body.available = True
        # At the end of a body without trailers, the plugin may create them (Envoy's addDecodedTrailers).
        trailer_map = MapType.HTTP_REQUEST_TRAILERS if direction == REQUEST else MapType.HTTP_RESPONSE_TRAILERS
        created: Pairs | None = None
        if end_of_stream and trailer_map not in ctx.maps:
            created = ctx.maps[trailer_map] = []
            ctx.writable.add(trailer_map)
        raw = self._call(name, ctx.id, len(body.held) - body.start, int(end_of_stream))
        if created is not None:
            ctx.maps.pop(trailer_map, None)
            ctx.writable.discard(trailer_map)
            self.added_trailers[direction] = created
        if raw is None:
            if self._failed_stop(direction, True):
                return FilterDataStatus.STOP_ITERATION_NO_BUFFER, b""
            return FilterDataStatus.CONTINUE, self._drain(direction)  # held bytes include this chunk
        if self._replied:
            status = FilterDataStatus.STOP_ITERATION_NO_BUFFER
        else:
            status = FilterDataStatus(min(raw, FilterDataStatus.STOP_ITERATION_NO_BUFFER))
        self._body_mode[direction] = status
        if status == FilterDataStatus.CONTINUE:
            body.available = False
            return status, self._drain(direction)
        self._paused[direction] = True
        if status == FilterDataStatus.STOP_ITERATION_NO_BUFFER:
            del body.held[body.start :]  # the plugin took this chunk
        elif len(body.held) > self.plugin.config.limits.max_buffer_bytes:
            body.held.clear()
            self._too_large(direction)
            return FilterDataStatus.STOP_ITERATION_NO_BUFFER, b""
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
        return self._trailers("proxy_on_request_trailers", MapType.HTTP_REQUEST_TRAILERS, REQUEST, trailers)

    def on_response_trailers(self, trailers: Pairs) -> FilterTrailersStatus:
        """On CONTINUE, forward `drain_response_body()` before the trailers."""
        self._saved[MapType.HTTP_RESPONSE_TRAILERS] = trailers
        return self._trailers("proxy_on_response_trailers", MapType.HTTP_RESPONSE_TRAILERS, RESPONSE, trailers)

    def _trailers(self, name: str, map_type: int, direction: int, trailers: Pairs) -> FilterTrailersStatus:
        ctx = self._context()
        if ctx is None:
            stop = self._failed_stop(direction, False)
            return FilterTrailersStatus.STOP_ITERATION if stop else FilterTrailersStatus.CONTINUE
        ctx.maps[map_type] = trailers
        ctx.writable.add(map_type)
        raw = self._call(name, ctx.id, len(trailers))
        if raw is None:
            stop = self._failed_stop(direction, True)
            return FilterTrailersStatus.STOP_ITERATION if stop else FilterTrailersStatus.CONTINUE
        stopped = raw != 0 or self._replied
        self._after(ctx, map_type, direction, stopped)
        return FilterTrailersStatus.STOP_ITERATION if stopped else FilterTrailersStatus.CONTINUE

    # -- end of stream ------------------------------------------------------------------------------

    def on_log(self) -> None:
        """Access-log time (Envoy: before on_done). Request/response headers and response trailers of the
        finished stream are readable."""
        self._ended = True
        ctx = self._context(fail_if_unavailable=False)
        if ctx is None:
            return
        ctx.writable.clear()
        ctx.maps = dict(self._saved)
        ctx.logging = True
        self._call("proxy_on_log", ctx.id)

    def on_destroy(self) -> None:
        """The stream is gone: proxy_on_done then proxy_on_delete (each once)."""
        self._ended = True
        ctx, vm = self._ctx, self._vm
        if self.state is _State.ACTIVE and ctx is not None and vm is not None:
            vm.guarded(ctx, "proxy_on_done", ctx.id, default=1)
            if vm.alive(ctx):
                vm.guarded(ctx, "proxy_on_delete", ctx.id)
                vm.contexts.pop(ctx.id, None)
        if not self._failed:
            self.plugin.stream_succeeded()
        self.state = _State.DONE
        self._ctx = None
