"""Access loggers built from the config model: a compiled format and a buffered sink.

``build_access_logs`` does all the work at config time (format compiled, file opened) and raises ConfigError
with the YAML path of the offending field; ``AccessLog.log`` then only formats a line and buffers it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import assert_never

from gateway.accesslog.sink import Sink
from gateway.config.model import AccessLog as AccessLogConfig
from gateway.config.model import FileAccessLog, StderrAccessLog, StdoutAccessLog, SubstitutionFormatString
from gateway.core.errors import ConfigError
from gateway.core.stream_info import StreamInfo
from gateway.formatter import DEFAULT_FORMAT, Formatter, JsonFormatter, compile_format, compile_json_format


class AccessLog:
    __slots__ = ("name", "_formatter", "_sink")

    def __init__(self, name: str, formatter: Formatter | JsonFormatter, sink: Sink) -> None:
        self.name = name
        self._formatter = formatter
        self._sink = sink

    def log(self, info: StreamInfo) -> None:
        self._sink.write(self._formatter.format(info))

    def flush(self) -> None:
        self._sink.flush()

    def reopen(self) -> None:
        """Start a new file after log rotation (the server calls this on SIGUSR1, as Envoy does)."""
        self._sink.reopen()

    def close(self) -> None:
        self._sink.close()


def build_access_logs(configs: Sequence[AccessLogConfig], path: str = "access_log") -> list[AccessLog]:
    """One AccessLog per config entry; ``path`` is the YAML path of the list, for error messages."""
    logs: list[AccessLog] = []
    try:
        for index, config in enumerate(configs):
            logs.append(_build(config, f"{path}[{index}].typed_config"))
    except ConfigError:
        close_all(logs)
        raise
    return logs


def close_all(logs: Sequence[AccessLog]) -> None:
    for log in logs:
        log.close()


def reopen_all(logs: Sequence[AccessLog]) -> None:
    for log in logs:
        log.reopen()


def _build(config: AccessLogConfig, path: str) -> AccessLog:
    sink_config = config.typed_config
    formatter = _formatter(sink_config.log_format, f"{path}.log_format")
    if isinstance(sink_config, FileAccessLog):
        try:
            sink = Sink.open_file(sink_config.path)
        except OSError as exc:
            raise ConfigError(f"{path}.path", f"cannot open access log {sink_config.path!r}: {exc.strerror}") from None
    elif isinstance(sink_config, StdoutAccessLog):
        sink = Sink.stream(sys.stdout.fileno())
    elif isinstance(sink_config, StderrAccessLog):
        sink = Sink.stream(sys.stderr.fileno())
    else:
        assert_never(sink_config)
    return AccessLog(config.name, formatter, sink)


def _formatter(spec: SubstitutionFormatString | None, path: str) -> Formatter | JsonFormatter:
    try:
        if spec is None:
            return compile_format(DEFAULT_FORMAT)
        if spec.json_format is not None:
            return compile_json_format(spec.json_format, spec.omit_empty_values)
        return compile_format(DEFAULT_FORMAT if spec.text_format is None else spec.text_format, spec.omit_empty_values)
    except ValueError as exc:
        raise ConfigError(path, str(exc)) from None
