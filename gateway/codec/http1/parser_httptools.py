"""The httptools (llhttp) tokenizer: the fast backend. llhttp runs in strict mode (no leniency flags set).

httptools reports errors as exceptions carrying llhttp's reason text; they become CodecErrors here, with 501 for
transfer codings llhttp refuses (as Envoy answers them). A CodecError raised by a codec callback travels through
llhttp as a callback error and is re-raised as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httptools

from gateway.core.errors import CodecError, Source


def _translate(error: httptools.HttpParserError, source: Source) -> BaseException:
    cause = error.__context__
    if isinstance(error, httptools.HttpParserCallbackError) and cause is not None:
        return cause  # the codec's CodecError or SkipBody; anything else is a bug, never disguised as a 400
    message = str(error) or "malformed HTTP/1.1 message"
    status = 501 if "Transfer-Encoding" in message and "Content-Length" not in message else 400
    return CodecError(message, status if source is Source.DOWNSTREAM else 502, source)


class _Httptools:
    # The codec calls feed per read and the version/method/status getters per message: bound C methods, no
    # Python frame between.
    __slots__ = ("_source", "feed", "http_version")
    errors = (httptools.HttpParserUpgrade, httptools.HttpParserError)

    def __init__(self, parser: httptools.HttpRequestParser | httptools.HttpResponseParser, source: Source) -> None:
        self.feed: Callable[[bytes], None] = parser.feed_data
        self._source = source
        self.http_version: Callable[[], str] = parser.get_http_version

    def failed(self, error: Exception, data: bytes) -> bytes:
        if isinstance(error, httptools.HttpParserUpgrade):
            return data[error.args[0] :]
        assert isinstance(error, httptools.HttpParserError)
        raise _translate(error, self._source) from None


class HttptoolsRequestParser(_Httptools):
    __slots__ = ("method",)

    def __init__(self, codec: Any) -> None:
        parser = httptools.HttpRequestParser(codec)
        super().__init__(parser, Source.DOWNSTREAM)
        self.method: Callable[[], bytes] = parser.get_method


class HttptoolsResponseParser(_Httptools):
    __slots__ = ("status_code",)
    handles_head = False

    def __init__(self, codec: Any) -> None:
        parser = httptools.HttpResponseParser(codec)
        super().__init__(parser, Source.UPSTREAM)
        self.status_code: Callable[[], int] = parser.get_status_code

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        """Never called (``handles_head`` is False): llhttp cannot be told the request method; the codec handles
        HEAD itself (see SkipBody)."""
