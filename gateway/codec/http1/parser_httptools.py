"""The httptools (llhttp) tokenizer: the fast backend. llhttp runs in strict mode (no leniency flags set).

httptools reports errors as exceptions carrying llhttp's reason text; they become CodecErrors here, with 501 for
transfer codings llhttp refuses (as Envoy answers them). A CodecError raised by a codec callback travels through
llhttp as a callback error and is re-raised as is.
"""

from __future__ import annotations

from typing import Any

import httptools

from gateway.codec.http1.common import SkipBody
from gateway.core.errors import CodecError, Source


def _translate(error: httptools.HttpParserError, source: Source) -> CodecError | SkipBody:
    cause = error.__context__
    if isinstance(error, httptools.HttpParserCallbackError) and isinstance(cause, CodecError | SkipBody):
        return cause
    message = str(error) or "malformed HTTP/1.1 message"
    status = 501 if "Transfer-Encoding" in message and "Content-Length" not in message else 400
    return CodecError(message, status if source is Source.DOWNSTREAM else 502, source)


class HttptoolsRequestParser:
    __slots__ = ("_parser",)

    def __init__(self, codec: Any) -> None:
        self._parser = httptools.HttpRequestParser(codec)

    def feed(self, data: bytes) -> bytes | None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            return data[upgrade.args[0] :]
        except httptools.HttpParserError as error:
            raise _translate(error, Source.DOWNSTREAM) from None
        return None

    def http_version(self) -> str:
        return self._parser.get_http_version()

    def method(self) -> bytes:
        return self._parser.get_method()


class HttptoolsResponseParser:
    __slots__ = ("_parser",)
    handles_head = False

    def __init__(self, codec: Any) -> None:
        self._parser = httptools.HttpResponseParser(codec)

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        """llhttp cannot be told the request method; the codec handles HEAD itself (see SkipBody)."""

    def feed(self, data: bytes) -> bytes | None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            return data[upgrade.args[0] :]
        except httptools.HttpParserError as error:
            raise _translate(error, Source.UPSTREAM) from None
        return None

    def http_version(self) -> str:
        return self._parser.get_http_version()

    def status_code(self) -> int:
        return self._parser.get_status_code()
