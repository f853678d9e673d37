"""Command-line options that reach the server (everything else comes from the config)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ServerOptions:
    config_path: str | None
    config_yaml: str | None = None
    drain_time_s: float = 5.0
    http1_codec: str = "httptools"
    log_level: str = "info"
    command_line: list[str] = field(default_factory=list)
