"""Messages from ``envoy.config.core.v3`` and ``envoy.type.matcher.v3`` shared by the rest of the model.

Conventions of the whole model: field names are Envoy's (snake_case), durations are float seconds, wrapper types
(``UInt32Value``, ``BoolValue``) are plain values carrying their proto default, a oneof is a group of Optional fields
of which at most one is set, and enums are Python Enums whose members and values are the proto's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class SocketProtocol(Enum):
    TCP = 0
    UDP = 1


@dataclass(frozen=True, slots=True)
class SocketAddress:
    address: str
    port_value: int = 0
    protocol: SocketProtocol = SocketProtocol.TCP
    ipv4_compat: bool = False  # an IPv6 listener on "::" also takes IPv4 connections


@dataclass(frozen=True, slots=True)
class Address:
    """``core.v3.Address``; of its oneof only ``socket_address`` is supported (``pipe`` and
    ``envoy_internal_address`` are rejected), so it is always set."""

    socket_address: SocketAddress

    def __str__(self) -> str:
        """``host:port`` as Envoy prints it (IPv6 in brackets)."""
        host = self.socket_address.address
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.socket_address.port_value}"


@dataclass(frozen=True, slots=True)
class Locality:
    region: str = ""
    zone: str = ""
    sub_zone: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    id: str = ""
    cluster: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)  # google.protobuf.Struct as plain JSON values
    locality: Locality | None = None
    user_agent_name: str = ""
    user_agent_version: str = ""
    client_features: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DataSource:
    """``core.v3.DataSource``; oneof specifier: exactly one field is set.

    ``inline_bytes`` arrives base64-encoded (as proto JSON encodes bytes) and is stored decoded.
    """

    filename: str | None = None
    inline_bytes: bytes | None = None
    inline_string: str | None = None
    environment_variable: str | None = None


class HeaderAppendAction(Enum):
    APPEND_IF_EXISTS_OR_ADD = 0
    ADD_IF_ABSENT = 1
    OVERWRITE_IF_EXISTS_OR_ADD = 2
    OVERWRITE_IF_EXISTS = 3


@dataclass(frozen=True, slots=True)
class HeaderValue:
    key: str
    value: str = ""  # may hold %...% formatters, expanded per request by the user of the option


@dataclass(frozen=True, slots=True)
class HeaderValueOption:
    """``core.v3.HeaderValueOption``.

    ``append`` is the deprecated BoolValue (None when unset); the loader already folded it into
    ``append_action`` (true -> APPEND_IF_EXISTS_OR_ADD, false -> OVERWRITE_IF_EXISTS_OR_ADD), so users read
    ``append_action`` only.
    """

    header: HeaderValue
    append_action: HeaderAppendAction = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
    keep_empty_value: bool = False
    append: bool | None = None


@dataclass(frozen=True, slots=True)
class RegexMatcher:
    """``type.matcher.v3.RegexMatcher``. ``compiled`` is the Python pattern built at load time (RE2 syntax is
    checked first: the constructs RE2 lacks, such as look-around and back-references, are rejected)."""

    regex: str
    compiled: re.Pattern[str] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StringMatcher:
    """``type.matcher.v3.StringMatcher``; oneof match_pattern: exactly one of the five is set.
    ``ignore_case`` does not apply to ``safe_regex`` (as in Envoy)."""

    exact: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    contains: str | None = None
    safe_regex: RegexMatcher | None = None
    ignore_case: bool = False


class HeadersWithUnderscoresAction(Enum):
    ALLOW = 0
    REJECT_REQUEST = 1
    DROP_HEADER = 2


@dataclass(frozen=True, slots=True)
class HttpProtocolOptions:
    """``core.v3.HttpProtocolOptions`` (``common_http_protocol_options``), downstream and upstream alike (each side
    refuses the fields it does not apply, so they keep their defaults there).

    Durations of 0 mean "disabled", as in Envoy; ``max_requests_per_connection`` 0 means unlimited.
    """

    idle_timeout: float = 3600.0
    max_connection_duration: float = 0.0
    max_headers_count: int = 100
    max_stream_duration: float = 0.0
    max_requests_per_connection: int = 0


@dataclass(frozen=True, slots=True)
class Http1ProtocolOptions:
    """``core.v3.Http1ProtocolOptions`` of the connection manager; its other fields are refused unless at their
    default, or change nothing (``enable_trailers``)."""

    accept_http_10: bool = False


class RoutingPriority(Enum):
    DEFAULT = 0
    HIGH = 1
