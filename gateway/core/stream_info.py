"""Everything known about one request as it happens: the access log, the formatters and the Wasm properties
read it; the connection manager, the router and filters write it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap


@dataclass(slots=True)
class ConnectionInfo:
    """The downstream connection a stream arrived on."""

    connection_id: int
    remote_address: tuple[str, int]
    local_address: tuple[str, int]
    # After x-forwarded-for handling this may differ from remote_address (Envoy's "downstream remote address").
    tls: bool = False
    requested_server_name: str = ""
    tls_version: str = ""
    alpn: str = ""


@dataclass(slots=True)
class StreamInfo:
    connection: ConnectionInfo
    protocol: str = "HTTP/1.1"
    start_time: float = field(default_factory=time.time)  # wall clock, seconds
    start_monotonic: float = field(default_factory=time.monotonic)
    downstream_remote_address: tuple[str, int] | None = None  # the trusted client address (XFF-aware)
    request_headers: HeaderMap | None = None
    response_headers: HeaderMap | None = None
    response_trailers: HeaderMap | None = None
    response_code: int = 0
    response_code_details: str = ""
    response_flags: int = ResponseFlag.NONE
    bytes_received: int = 0
    bytes_sent: int = 0
    route_name: str = ""
    virtual_host_name: str = ""
    cluster_name: str = ""
    upstream_host: str = ""  # "ip:port" of the upstream host used
    upstream_local_address: str = ""
    upstream_transport_failure_reason: str = ""
    attempt_count: int = 0
    request_id: str = ""
    # Monotonic times (seconds) of milestones, None until reached.
    first_upstream_tx_byte: float | None = None
    last_upstream_tx_byte: float | None = None
    first_upstream_rx_byte: float | None = None
    last_upstream_rx_byte: float | None = None
    first_downstream_tx_byte: float | None = None
    last_downstream_tx_byte: float | None = None
    last_downstream_rx_byte: float | None = None
    end_monotonic: float | None = None
    # Per-filter data, keyed by a filter-chosen name (Envoy's filter state); Wasm set_property writes here too.
    filter_state: dict[str, Any] = field(default_factory=dict)

    def set_flag(self, flag: ResponseFlag) -> None:
        self.response_flags |= flag

    def duration_ms(self) -> int | None:
        """Milliseconds from start to the end of the stream, or None while it is open (``%DURATION%``)."""
        if self.end_monotonic is None:
            return None
        return int((self.end_monotonic - self.start_monotonic) * 1000)

    def since_start_ms(self, t: float | None) -> int | None:
        return None if t is None else int((t - self.start_monotonic) * 1000)
