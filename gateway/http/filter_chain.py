"""Iteration of one direction of a stream's HTTP filter chain (decode: config order; encode: reverse order).

State machine, per direction:
- running: each part (headers, data chunks, trailers) goes through the filters in order, then to the chain's end (for
  encode, the codec; for decode, nothing: the last filter is the router, which consumes everything).
- stopped at filter ``i``: a filter returned a stop status. Later parts pass the filters ahead of ``i`` and then:
  * delivered to ``i`` ("deliver" mode: after STOP_ITERATION on headers, or a stop on data): ``i`` sees each chunk
    (``buffer`` holds the earlier ones, excluding the chunk being delivered) and lets go by returning CONTINUE;
  * held unseen ("stop all" mode: after STOP_ALL_* on headers): data accumulates in ``buffer``, trailers wait, and
    ``i`` sees them only when it calls ``resume()``.
- release (CONTINUE from ``i`` or ``resume()``): held headers continue after ``i``, then the buffered body (from
  ``i`` itself if it has not seen it), then held trailers. A later filter may stop again; the parts still in flight
  are then held there, so order is kept.

One stop point per direction, as Envoy keeps one buffered body per direction: a filter ahead of the stopped one
that returns a stop status for data or trailers is treated as CONTINUE.

Buffer limits: holding more than ``buffer_limit`` bytes calls the end's ``overflow`` (decode: 413, encode: 500), or,
for the watermark statuses, its ``watermark(True)`` to pause the source until the buffer drains.
"""

from __future__ import annotations

from typing import Final

from mypy_extensions import mypyc_attr

from gateway.core.headers import HeaderMap
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter, TrailersStatus

RUNNING: Final = -1
_CONTINUE: Final = 0


@mypyc_attr(allow_interpreted_subclasses=True)  # the stream's two ends; a test's recorder
class ChainEnd:
    """What a direction's chain reaches past its last filter: where the parts go (encode: the codec; decode:
    nowhere, as here, since the router consumed them) and who hears of its buffer overflowing or pausing.

    One object rather than five callables: a stream's chain then costs one allocation, not five bound methods,
    and calls into it are direct."""

    def headers(self, headers: HeaderMap, end_stream: bool) -> None:
        pass

    def data(self, data: bytearray, end_stream: bool) -> None:
        pass

    def trailers(self, trailers: HeaderMap) -> None:
        pass

    def overflow(self) -> None:
        raise NotImplementedError

    def watermark(self, above: bool) -> None:
        raise NotImplementedError


class FilterChain:
    __slots__ = (
        "_filters",
        "_decode",
        "_end",
        "buffer_limit",
        "stop_at",
        "_deliver",
        "_watermark",
        "_paused_source",
        "headers",
        "_headers_end",
        "_headers_held",
        "buffer",
        "_buffer_seen",
        "_trailers",
        "_trailers_seen",
        "end_seen",
        "aborted",
        "_consumer",
    )

    def __init__(
        self,
        filters: list[HttpFilter],
        decode: bool,
        end: ChainEnd,
        buffer_limit: int,
        terminal: bool = False,
    ) -> None:
        self._filters = filters
        # With ``terminal`` the last filter consumes every part itself (the router): its stop statuses say "taken",
        # not "hold here", so they never occupy the one stop point earlier filters may need.
        self._consumer = len(filters) - 1 if terminal else len(filters)
        self._decode = decode
        self._end = end
        self.buffer_limit = buffer_limit
        self.stop_at = RUNNING
        self._deliver = False
        self._watermark = False
        self._paused_source = False
        self.headers: HeaderMap | None = None
        self._headers_end = False
        self._headers_held = False
        self.buffer: bytearray | None = None
        self._buffer_seen = False
        self._trailers: HeaderMap | None = None
        self._trailers_seen = False
        self.end_seen = False
        # Set by the stream when it ends abnormally mid-iteration (local reply, reset): touch no more filters.
        self.aborted = False

    # -- one call into a filter, by direction (the hot loops below inline the headers and data ones) --
    def _call_data(self, f: HttpFilter, data: bytearray, end: bool) -> int:
        return f.decode_data(data, end) if self._decode else f.encode_data(data, end)

    def _call_trailers(self, f: HttpFilter, trailers: HeaderMap) -> int:
        return f.decode_trailers(trailers) if self._decode else f.encode_trailers(trailers)

    # -- input from the source --
    def on_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self.headers = headers
        self._headers_end = end_stream
        self.end_seen = end_stream
        self._run_headers(0)

    def on_data(self, data: bytearray, end_stream: bool) -> None:
        if end_stream:
            self.end_seen = True
        if self.stop_at == RUNNING:
            self._run_data(0, data, end_stream)
        else:
            self._feed_data(0, data, end_stream)

    def on_trailers(self, trailers: HeaderMap) -> None:
        self.end_seen = True
        self._feed_trailers(0, trailers)

    def resume(self) -> None:
        """``continue_decoding()`` / ``continue_encoding()`` from the stopped filter."""
        if self.stop_at != RUNNING and not self.aborted:
            self._release(self._buffer_seen)

    def add_held(self, data: bytes) -> None:
        """A stopped filter hands over body bytes it kept itself; they continue after it on resume."""
        if self.aborted:
            return
        if self.buffer is None:
            self.buffer = bytearray(data)
            self._buffer_seen = True
        else:
            self.buffer += data

    @property
    def stopped(self) -> bool:
        return self.stop_at != RUNNING

    # -- iteration --
    def _run_headers(self, start: int) -> None:
        headers = self.headers
        assert headers is not None
        end = self._headers_end
        filters = self._filters
        decode = self._decode
        consumer = self._consumer
        for i in range(start, len(filters)):
            f = filters[i]
            status = f.decode_headers(headers, end) if decode else f.encode_headers(headers, end)
            if self.aborted:
                return
            if status == _CONTINUE or i == consumer:
                continue
            self.stop_at = i
            self._headers_held = True
            self._deliver = status == HeadersStatus.STOP_ITERATION
            self._watermark = status == HeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
            return
        self._end.headers(headers, end)

    def _run_data(self, start: int, data: bytearray, end: bool) -> None:
        filters = self._filters
        decode = self._decode
        consumer = self._consumer
        for i in range(start, len(filters)):
            f = filters[i]
            status = f.decode_data(data, end) if decode else f.encode_data(data, end)
            if self.aborted:
                return
            if status == _CONTINUE or i == consumer:
                continue
            self.stop_at = i
            self._deliver = True
            if status != DataStatus.STOP_ITERATION_NO_BUFFER:
                self._watermark = status == DataStatus.STOP_ITERATION_AND_WATERMARK
                self._hold(data, seen=True)
            return
        self._end.data(data, end)

    def _run_trailers(self, start: int, trailers: HeaderMap) -> None:
        filters = self._filters
        for i in range(start, len(filters)):
            status = self._call_trailers(filters[i], trailers)
            if self.aborted:
                return
            if status != TrailersStatus.CONTINUE and i != self._consumer:
                self.stop_at = i
                self._deliver = False
                self._trailers = trailers
                self._trailers_seen = True
                return
        self._end.trailers(trailers)

    def _feed_data(self, start: int, data: bytearray, end: bool) -> None:
        """Data entering at ``start`` while iteration may be stopped further on."""
        stop = self.stop_at
        if stop == RUNNING:
            self._run_data(start, data, end)
            return
        filters = self._filters
        for i in range(start, stop):
            self._call_data(filters[i], data, end)
            if self.aborted:
                return
        if not self._deliver:
            self._hold(data, seen=False)
            return
        status = self._call_data(filters[stop], data, end)
        if self.aborted:
            return
        if status == _CONTINUE:
            if self.buffer is not None:
                self.buffer += data
            else:
                self.buffer = data
            self._release(True)
        elif status != DataStatus.STOP_ITERATION_NO_BUFFER:
            self._watermark = status == DataStatus.STOP_ITERATION_AND_WATERMARK
            self._hold(data, seen=True)

    def _feed_trailers(self, start: int, trailers: HeaderMap) -> None:
        stop = self.stop_at
        if stop == RUNNING:
            self._run_trailers(start, trailers)
            return
        filters = self._filters
        for i in range(start, stop):
            self._call_trailers(filters[i], trailers)
            if self.aborted:
                return
        self._trailers = trailers
        self._trailers_seen = False
        if not self._deliver:
            return
        self._trailers_seen = True
        status = self._call_trailers(filters[stop], trailers)
        if not self.aborted and status == TrailersStatus.CONTINUE:
            self._release(self._buffer_seen)

    def _hold(self, data: bytearray, seen: bool) -> None:
        if self.buffer is None:
            self.buffer = data
            self._buffer_seen = seen
        else:
            self.buffer += data
        if len(self.buffer) > self.buffer_limit:
            if self._watermark:
                if not self._paused_source:
                    self._paused_source = True
                    self._end.watermark(True)
            else:
                self._end.overflow()

    def _release(self, buffer_seen: bool) -> None:
        """Let held parts move past the stop point ``i``, in order: headers, body, trailers."""
        i = self.stop_at
        headers_held = self._headers_held
        buffered, self.buffer = self.buffer, None
        trailers, self._trailers = self._trailers, None
        trailers_seen = self._trailers_seen
        self.stop_at = RUNNING
        self._headers_held = False
        self._deliver = False
        if self._paused_source:
            self._paused_source = False
            self._end.watermark(False)
        if headers_held:
            self._run_headers(i + 1)
            if self.aborted:
                return
        body_end = self.end_seen and trailers is None
        if buffered is not None:
            self._feed_data(i + 1 if buffer_seen else i, buffered, body_end)
        elif body_end and not self._headers_end:
            # The end of the body reached the stopped filter but not the ones after it.
            self._feed_data(i + 1, bytearray(), True)
        if self.aborted or trailers is None:
            return
        self._feed_trailers(i + 1 if trailers_seen else i, trailers)
