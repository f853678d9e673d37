"""Access loggers: ``config.accesslog.v3.AccessLog`` and the file / stdout / stderr sinks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubstitutionFormatString:
    """``core.v3.SubstitutionFormatString``, already resolved: one of ``text_format`` (from ``text_format``,
    ``text_format_source`` or the deprecated ``FileAccessLog.format``) or ``json_format`` is set. A sink with
    no format uses Envoy's default text format."""

    text_format: str | None = None
    json_format: Mapping[str, object] | None = None
    omit_empty_values: bool = False


@dataclass(frozen=True, slots=True)
class FileAccessLog:
    """``envoy.access_loggers.file``."""

    path: str
    log_format: SubstitutionFormatString | None = None


@dataclass(frozen=True, slots=True)
class StdoutAccessLog:
    """``envoy.access_loggers.stdout``."""

    log_format: SubstitutionFormatString | None = None


@dataclass(frozen=True, slots=True)
class StderrAccessLog:
    """``envoy.access_loggers.stderr``."""

    log_format: SubstitutionFormatString | None = None


AccessLogSink = FileAccessLog | StdoutAccessLog | StderrAccessLog


@dataclass(frozen=True, slots=True)
class AccessLog:
    """``config.accesslog.v3.AccessLog``; ``filter`` is not supported yet (rejected at load)."""

    name: str
    typed_config: AccessLogSink
