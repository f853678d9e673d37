"""Envoy's attributes (``proxy_get_property``) from a stream's StreamInfo, as Python values abi encodes.

Names are Envoy's (``request.path``, ``source.address``, ``xds.route_name``...), plus the legacy Wasm top-level
names (``route_name``, ``cluster_name``, ``node``) that plugins built with older SDKs still read. Absent values
are None, which plugins see as NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo

Getter = Callable[[StreamInfo], object | None]


def _header_dict(headers: HeaderMap | None) -> dict[str, str] | None:
    if headers is None:
        return None
    result: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        result[key] = f"{result[key]},{text}" if key in result else text
    return result


def _request_header(name: bytes) -> Getter:
    def get(info: StreamInfo) -> object | None:
        headers = info.request_headers
        return None if headers is None else headers.get(name)

    return get


def _address(addr: tuple[str, int] | None) -> str | None:
    if addr is None or not addr[0]:
        return None
    host = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
    return f"{host}:{addr[1]}"


def _url_path(info: StreamInfo) -> bytes | None:
    path = info.request_headers.path if info.request_headers is not None else None
    return None if path is None else path.split(b"?", 1)[0]


def _query(info: StreamInfo) -> bytes | None:
    path = info.request_headers.path if info.request_headers is not None else None
    if path is None:
        return None
    _, _, rest = path.partition(b"?")
    return rest.split(b"#", 1)[0]


def _request_size(info: StreamInfo) -> int | None:
    headers = info.request_headers
    length = headers.get(b"content-length") if headers is not None else None
    if length is None:
        return info.bytes_received
    return int(length) if length.isdigit() else None


def _request_duration(info: StreamInfo) -> timedelta | None:
    end = info.last_downstream_rx_byte
    return None if end is None else timedelta(seconds=end - info.start_monotonic)


def _upstream_port(info: StreamInfo) -> int | None:
    _, sep, port = info.upstream_host.rpartition(":")
    return int(port) if sep and port.isdigit() else None


ATTRIBUTES: Final[dict[str, Getter]] = {
    "request.path": lambda i: i.request_headers.path if i.request_headers is not None else None,
    "request.url_path": _url_path,
    "request.host": lambda i: i.request_headers.authority if i.request_headers is not None else None,
    "request.scheme": _request_header(b":scheme"),
    "request.method": lambda i: i.request_headers.method if i.request_headers is not None else None,
    "request.headers": lambda i: _header_dict(i.request_headers),
    "request.referer": _request_header(b"referer"),
    "request.useragent": _request_header(b"user-agent"),
    "request.id": _request_header(b"x-request-id"),
    "request.time": lambda i: datetime.fromtimestamp(i.start_time, UTC),
    "request.protocol": lambda i: i.protocol,
    "request.query": _query,
    "request.duration": _request_duration,
    "request.size": _request_size,
    "request.total_size": lambda i: (
        i.bytes_received + (i.request_headers.byte_size() if i.request_headers is not None else 0)
    ),
    "response.code": lambda i: i.response_code or None,
    "response.code_details": lambda i: i.response_code_details or None,
    "response.flags": lambda i: int(i.response_flags),
    "response.headers": lambda i: _header_dict(i.response_headers),
    "response.trailers": lambda i: _header_dict(i.response_trailers),
    "response.size": lambda i: i.bytes_sent,
    "response.total_size": lambda i: (
        i.bytes_sent + (i.response_headers.byte_size() if i.response_headers is not None else 0)
    ),
    "source.address": lambda i: _address(i.connection.remote_address),
    "source.port": lambda i: i.connection.remote_address[1],
    "destination.address": lambda i: _address(i.connection.local_address),
    "destination.port": lambda i: i.connection.local_address[1],
    "connection.id": lambda i: i.connection.connection_id,
    "connection_id": lambda i: i.connection.connection_id,
    "connection.mtls": lambda i: False,
    "connection.requested_server_name": lambda i: i.connection.requested_server_name,
    "connection.tls_version": lambda i: i.connection.tls_version or None,
    "upstream.address": lambda i: i.upstream_host or None,
    "upstream.port": _upstream_port,
    "upstream.local_address": lambda i: i.upstream_local_address or None,
    "upstream.transport_failure_reason": lambda i: i.upstream_transport_failure_reason or None,
    "upstream.request_attempt_count": lambda i: i.attempt_count,
    "xds.route_name": lambda i: i.route_name or None,
    "xds.cluster_name": lambda i: i.cluster_name or None,
    "xds.virtual_host_name": lambda i: i.virtual_host_name or None,
    "route_name": lambda i: i.route_name or None,
    "cluster_name": lambda i: i.cluster_name or None,
}


def stream_attribute(info: StreamInfo, name: str) -> object | None:
    getter = ATTRIBUTES.get(name)
    return None if getter is None else getter(info)
