"""Filter chain iteration without sockets: recording filters that stop, buffer and resume."""

from __future__ import annotations

from gateway.core.headers import HeaderMap
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter, TrailersStatus
from gateway.http.filter_chain import ChainEnd, FilterChain


class Recorder(HttpFilter):
    """Records what it sees and answers with scripted statuses (CONTINUE when the script runs out)."""

    def __init__(
        self,
        name: str,
        log: list[str],
        headers: list[int] | None = None,
        data: list[int] | None = None,
        trailers: list[int] | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self._headers = headers or []
        self._data = data or []
        self._trailers = trailers or []

    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        self.log.append(f"{self.name}:H{'e' if end_stream else ''}")
        return HeadersStatus(self._headers.pop(0)) if self._headers else HeadersStatus.CONTINUE

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        self.log.append(f"{self.name}:D({bytes(data).decode()}){'e' if end_stream else ''}")
        return DataStatus(self._data.pop(0)) if self._data else DataStatus.CONTINUE

    def decode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        self.log.append(f"{self.name}:T")
        return TrailersStatus(self._trailers.pop(0)) if self._trailers else TrailersStatus.CONTINUE


class Sink(ChainEnd):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.overflows = 0
        self.watermarks: list[bool] = []

    def chain(self, filters: list[HttpFilter], limit: int = 1 << 20) -> FilterChain:
        return FilterChain(filters, True, self, limit)

    def headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self.log.append(f"sink:H{'e' if end_stream else ''}")

    def data(self, data: bytearray, end_stream: bool) -> None:
        self.log.append(f"sink:D({bytes(data).decode()}){'e' if end_stream else ''}")

    def trailers(self, trailers: HeaderMap) -> None:
        self.log.append("sink:T")

    def overflow(self) -> None:
        self.overflows += 1

    def watermark(self, above: bool) -> None:
        self.watermarks.append(above)


def _headers() -> HeaderMap:
    return HeaderMap([(b":method", b"POST"), (b":path", b"/")])


def test_all_continue_passes_every_part_in_order() -> None:
    log: list[str] = []
    sink = Sink(log)
    chain = sink.chain([Recorder("a", log), Recorder("b", log)])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"x"), False)
    chain.on_trailers(HeaderMap([(b"t", b"1")]))
    assert log == ["a:H", "b:H", "sink:H", "a:D(x)", "b:D(x)", "sink:D(x)", "a:T", "b:T", "sink:T"]


def test_stop_all_holds_body_until_resume_then_the_stopper_sees_it() -> None:
    log: list[str] = []
    sink = Sink(log)
    chain = sink.chain([Recorder("a", log, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_BUFFER]), Recorder("b", log)])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"one"), False)
    chain.on_data(bytearray(b"two"), True)
    assert log == ["a:H"]
    assert chain.stopped and chain.buffer == bytearray(b"onetwo")
    chain.resume()
    assert log == ["a:H", "b:H", "sink:H", "a:D(onetwo)e", "b:D(onetwo)e", "sink:D(onetwo)e"]
    assert not chain.stopped


def test_stop_iteration_on_headers_still_delivers_data_to_the_stopper() -> None:
    log: list[str] = []
    sink = Sink(log)
    a = Recorder(
        "a",
        log,
        headers=[HeadersStatus.STOP_ITERATION],
        data=[DataStatus.STOP_ITERATION_AND_BUFFER, DataStatus.CONTINUE],
    )
    chain = sink.chain([a, Recorder("b", log)])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"1"), False)
    assert chain.buffer == bytearray(b"1")
    chain.on_data(bytearray(b"2"), True)
    # a let go on the second chunk: held headers go first, then the whole body.
    assert log == ["a:H", "a:D(1)", "a:D(2)e", "b:H", "sink:H", "b:D(12)e", "sink:D(12)e"]


def test_body_buffering_at_a_later_filter_keeps_earlier_filters_streaming() -> None:
    log: list[str] = []
    sink = Sink(log)
    b = Recorder("b", log, data=[DataStatus.STOP_ITERATION_AND_BUFFER, DataStatus.STOP_ITERATION_AND_BUFFER])
    chain = sink.chain([Recorder("a", log), b])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"x"), False)
    chain.on_data(bytearray(b"y"), True)
    assert chain.buffer == bytearray(b"xy")
    chain.resume()
    assert log == ["a:H", "b:H", "sink:H", "a:D(x)", "b:D(x)", "a:D(y)e", "b:D(y)e", "sink:D(xy)e"]


def test_trailers_wait_behind_a_stopped_filter_and_follow_the_body() -> None:
    log: list[str] = []
    sink = Sink(log)
    chain = sink.chain([Recorder("a", log, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_BUFFER]), Recorder("b", log)])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"x"), False)
    chain.on_trailers(HeaderMap([(b"t", b"1")]))
    assert log == ["a:H"]
    chain.resume()
    assert log == ["a:H", "b:H", "sink:H", "a:D(x)", "b:D(x)", "sink:D(x)", "a:T", "b:T", "sink:T"]


def test_end_of_stream_after_no_buffer_stop_reaches_later_filters_on_resume() -> None:
    log: list[str] = []
    sink = Sink(log)
    chain = sink.chain([Recorder("a", log, data=[DataStatus.STOP_ITERATION_NO_BUFFER]), Recorder("b", log)])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"taken"), True)
    chain.resume()
    assert log == ["a:H", "b:H", "sink:H", "a:D(taken)e", "b:D()e", "sink:D()e"]


def test_a_second_stop_after_resume_holds_the_body_there() -> None:
    log: list[str] = []
    sink = Sink(log)
    a = Recorder("a", log, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_BUFFER])
    b = Recorder("b", log, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_BUFFER])
    chain = sink.chain([a, b])
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"x"), True)
    chain.resume()
    assert log == ["a:H", "b:H", "a:D(x)e"]
    assert chain.stop_at == 1 and chain.buffer == bytearray(b"x")
    chain.resume()
    assert log[3:] == ["sink:H", "b:D(x)e", "sink:D(x)e"]


def test_buffer_limit_overflow_and_watermark() -> None:
    log: list[str] = []
    sink = Sink(log)
    chain = sink.chain([Recorder("a", log, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_BUFFER])], limit=4)
    chain.on_headers(_headers(), False)
    chain.on_data(bytearray(b"12345"), False)
    assert sink.overflows == 1

    log2: list[str] = []
    sink2 = Sink(log2)
    chain2 = sink2.chain([Recorder("a", log2, headers=[HeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK])], limit=4)
    chain2.on_headers(_headers(), False)
    chain2.on_data(bytearray(b"12345"), False)
    assert sink2.overflows == 0 and sink2.watermarks == [True]
    chain2.resume()
    assert sink2.watermarks == [True, False]
