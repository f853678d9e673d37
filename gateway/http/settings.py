"""What the connection manager needs, resolved at config time by the server from the HCM config."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from gateway.codec.api import CodecLimits
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import FilterFactory, RouteResolver


class ServerHeaderTransformation(Enum):
    OVERWRITE = "OVERWRITE"
    APPEND_IF_ABSENT = "APPEND_IF_ABSENT"
    PASS_THROUGH = "PASS_THROUGH"


class AccessLogSink(Protocol):
    def log(self, info: StreamInfo) -> None: ...


@dataclass(frozen=True, slots=True)
class HcmSettings:
    stat_prefix: str
    # Tuples, not Sequences: iterated per stream, and the compiled build iterates a tuple without a generic iterator.
    filter_factories: tuple[FilterFactory, ...]
    route_resolver: RouteResolver
    access_logs: tuple[AccessLogSink, ...] = ()
    codec_backend: str = "httptools"
    codec_limits: CodecLimits = field(default_factory=CodecLimits)
    server_name: bytes = b"gateway"
    server_header_transformation: ServerHeaderTransformation = ServerHeaderTransformation.OVERWRITE
    use_remote_address: bool = False
    xff_num_trusted_hops: int = 0
    skip_xff_append: bool = False
    generate_request_id: bool = True
    preserve_external_request_id: bool = False
    always_set_request_id_in_response: bool = False
    via: bytes = b""
    # Timeouts in seconds; 0 disables, as in Envoy.
    idle_timeout: float = 3600.0
    max_connection_duration: float = 0.0
    request_headers_timeout: float = 0.0
    request_timeout: float = 0.0
    stream_idle_timeout: float = 300.0
    max_stream_duration: float = 0.0
    delayed_close_timeout: float = 1.0
    buffer_limit: int = 1024 * 1024
    accept_http_10: bool = True
    upgrade_types: frozenset[str] = frozenset()  # lowercase types enabled by the HCM's upgrade_configs
