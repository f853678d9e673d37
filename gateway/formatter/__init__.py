"""Envoy's ``%COMMAND%`` substitution formatter, shared by the access logs and the router's header mutations.

    fmt = compile_format("%REQ(:METHOD)% %DOWNSTREAM_REMOTE_ADDRESS%\\n")   # at config time; ValueError if bad
    line = fmt.format(stream_info)                                          # per request

Header values decode as UTF-8 with ``surrogateescape``: encode results the same way to get the exact bytes back.
"""

from gateway.formatter.formatter import (
    DEFAULT_FORMAT,
    Formatter,
    JsonFormatter,
    compile_format,
    compile_json_format,
)

__all__ = ["DEFAULT_FORMAT", "Formatter", "JsonFormatter", "compile_format", "compile_json_format"]
