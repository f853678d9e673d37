"""Which hooks a filter class overrides: what a stream may skip."""

from __future__ import annotations

from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter
from gateway.http.filter_hooks import COMPLETES, DECODES, DESTROYS, ENCODES, LOGS, hooks_of


class Decoder(HttpFilter):
    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        return DataStatus.CONTINUE

    def on_destroy(self) -> None:
        pass


class Encoder(HttpFilter):
    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        return HeadersStatus.CONTINUE


class LoggingEncoder(Encoder):
    def on_log(self, stream_info: StreamInfo) -> None:
        pass

    def on_stream_complete(self) -> None:
        pass


def test_the_base_filter_needs_no_hook() -> None:
    assert hooks_of(HttpFilter()) == 0


def test_one_overridden_hook_of_a_direction_puts_the_filter_in_it() -> None:
    assert hooks_of(Decoder()) == DECODES | DESTROYS
    assert hooks_of(Encoder()) == ENCODES


def test_hooks_are_inherited() -> None:
    assert hooks_of(LoggingEncoder()) == ENCODES | LOGS | COMPLETES
