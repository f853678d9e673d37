"""Everything known about one request as it happens: the access log, the formatters and the Wasm properties
read it; the connection manager, the router and filters write it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.core.clock import monotonic, wall
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


class StreamInfo:
    """Written field by field as the stream goes; a plain class with its own ``__init__`` (one is made per request,
    and a dataclass's generated ``__init__`` stays interpreted Python even in the compiled build)."""

    __slots__ = (
        "connection",
        "protocol",
        "start_time",
        "start_monotonic",
        "downstream_remote_address",
        "request_headers",
        "response_headers",
        "response_trailers",
        "response_code",
        "response_code_details",
        "response_flags",
        "bytes_received",
        "bytes_sent",
        "route_name",
        "virtual_host_name",
        "cluster_name",
        "upstream_host",
        "upstream_local_address",
        "upstream_transport_failure_reason",
        "attempt_count",
        "request_id",
        "first_upstream_tx_byte",
        "last_upstream_tx_byte",
        "first_upstream_rx_byte",
        "last_upstream_rx_byte",
        "first_downstream_tx_byte",
        "last_downstream_tx_byte",
        "last_downstream_rx_byte",
        "end_monotonic",
        "filter_state",
    )

    def __init__(
        self,
        connection: ConnectionInfo,
        protocol: str = "HTTP/1.1",
        start_time: float | None = None,
        start_monotonic: float | None = None,
        request_headers: HeaderMap | None = None,
        response_code: int = 0,
    ) -> None:
        self.connection = connection
        self.protocol = protocol
        self.start_time: float = wall() if start_time is None else start_time  # wall clock, seconds
        self.start_monotonic: float = monotonic() if start_monotonic is None else start_monotonic
        # The trusted client address (XFF-aware); None until the connection manager has decided it.
        self.downstream_remote_address: tuple[str, int] | None = None
        self.request_headers = request_headers
        self.response_headers: HeaderMap | None = None
        self.response_trailers: HeaderMap | None = None
        self.response_code = response_code
        self.response_code_details = ""
        self.response_flags = 0  # ResponseFlag bits (not ResponseFlag.NONE: an enum attribute lookup per request)
        self.bytes_received = 0
        self.bytes_sent = 0
        self.route_name = ""
        self.virtual_host_name = ""
        self.cluster_name = ""
        self.upstream_host = ""  # "ip:port" of the upstream host used
        self.upstream_local_address = ""
        self.upstream_transport_failure_reason = ""
        self.attempt_count = 0
        self.request_id = ""
        # Monotonic times (seconds) of milestones, None until reached.
        self.first_upstream_tx_byte: float | None = None
        self.last_upstream_tx_byte: float | None = None
        self.first_upstream_rx_byte: float | None = None
        self.last_upstream_rx_byte: float | None = None
        self.first_downstream_tx_byte: float | None = None
        self.last_downstream_tx_byte: float | None = None
        self.last_downstream_rx_byte: float | None = None
        self.end_monotonic: float | None = None
        # Per-filter data, keyed by a filter-chosen name (Envoy's filter state); Wasm set_property writes here too.
        self.filter_state: dict[str, Any] = {}

    def set_flag(self, flag: ResponseFlag) -> None:
        self.response_flags |= flag

    def duration_ms(self) -> int | None:
        """Milliseconds from start to the end of the stream, or None while it is open (``%DURATION%``)."""
        if self.end_monotonic is None:
            return None
        return int((self.end_monotonic - self.start_monotonic) * 1000)

    def since_start_ms(self, t: float | None) -> int | None:
        return None if t is None else int((t - self.start_monotonic) * 1000)
