"""Sans-IO codecs. ``make_server_codec`` / ``make_client_codec`` build the HTTP/1.1 codecs over a parser backend:
``httptools`` (llhttp; the default, fast) or ``h11`` (pure Python; the reference). Both behave identically.

They return the concrete HTTP/1.1 classes, not the ``api`` Protocols: in the compiled build (gateway/native.py)
a call through a concrete class is a direct C call, through a Protocol a generic Python method call, and the
connection manager and the pools call their codec several times per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.codec.api import CodecLimits
from gateway.codec.http1.client import Http1ClientCodec
from gateway.codec.http1.server import Http1ServerCodec

BACKENDS = ("httptools", "h11")


def _parsers(backend: str, limits: CodecLimits) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if backend == "httptools":
        from gateway.codec.http1.parser_httptools import HttptoolsRequestParser, HttptoolsResponseParser

        return HttptoolsRequestParser, HttptoolsResponseParser
    if backend == "h11":
        from gateway.codec.http1.parser_h11 import H11RequestParser, H11ResponseParser

        return (lambda codec: H11RequestParser(codec, limits)), (lambda codec: H11ResponseParser(codec, limits))
    raise ValueError(f"unknown HTTP/1.1 codec backend {backend!r} (expected one of {', '.join(BACKENDS)})")


def make_server_codec(backend: str = "httptools", limits: CodecLimits | None = None) -> Http1ServerCodec:
    """A downstream HTTP/1.1 codec: parses requests, writes responses."""
    limits = limits or CodecLimits()
    return Http1ServerCodec(_parsers(backend, limits)[0], limits)


# Envoy caps upstream response heads at 80 KiB (http_parser's historic limit), not the request side's 60.
RESPONSE_LIMITS = CodecLimits(max_headers_kb=80)


def make_client_codec(backend: str = "httptools", limits: CodecLimits | None = None) -> Http1ClientCodec:
    """An upstream HTTP/1.1 codec: writes requests, parses responses (heads up to 80 KiB by default, as Envoy)."""
    limits = limits or RESPONSE_LIMITS
    return Http1ClientCodec(_parsers(backend, limits)[1], limits)


__all__ = ["BACKENDS", "RESPONSE_LIMITS", "make_client_codec", "make_server_codec"]
