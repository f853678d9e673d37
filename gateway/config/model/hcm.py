"""``envoy.filters.network.http_connection_manager``: HttpConnectionManager and HttpFilter."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from gateway.config.model.access_log import AccessLog
from gateway.config.model.core import Http1ProtocolOptions, HttpProtocolOptions
from gateway.config.model.route import RouteConfiguration, UpgradeConfig


class CodecType(Enum):
    AUTO = 0
    HTTP1 = 1
    HTTP2 = 2
    HTTP3 = 3  # rejected at load: not supported


class ServerHeaderTransformation(Enum):
    OVERWRITE = 0
    APPEND_IF_ABSENT = 1
    PASS_THROUGH = 2


class PathWithEscapedSlashesAction(Enum):
    IMPLEMENTATION_SPECIFIC_DEFAULT = 0
    KEEP_UNCHANGED = 1
    REJECT_REQUEST = 2
    UNESCAPE_AND_REDIRECT = 3
    UNESCAPE_AND_FORWARD = 4


@dataclass(frozen=True, slots=True)
class HttpFilter:
    """``hcm.v3.HttpFilter``. ``typed_config`` is the parsed config of the extension its type URL (or, without a
    typed_config, its ``name``) selects: ``Router`` or ``Wasm`` today; see ``gateway.config.registry``."""

    name: str
    typed_config: object
    is_optional: bool = False
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class HttpConnectionManager:
    """``hcm.v3.HttpConnectionManager``; of the route_specifier oneof only the inline ``route_config`` is
    supported. Durations of 0 disable the timeout, as in Envoy.

    ``server_name`` defaults to ``gateway`` (Envoy's default is ``envoy``). The HTTP/1 parser backend (httptools or
    h11) is not part of Envoy's schema; it is a gateway-level option (``--http1-codec``), not a field here.
    """

    stat_prefix: str
    route_config: RouteConfiguration
    http_filters: tuple[HttpFilter, ...]
    codec_type: CodecType = CodecType.AUTO
    access_log: tuple[AccessLog, ...] = ()
    use_remote_address: bool = False
    xff_num_trusted_hops: int = 0
    skip_xff_append: bool = False
    via: str = ""
    server_name: str = "gateway"
    server_header_transformation: ServerHeaderTransformation = ServerHeaderTransformation.OVERWRITE
    generate_request_id: bool = True
    preserve_external_request_id: bool = False
    always_set_request_id_in_response: bool = False
    common_http_protocol_options: HttpProtocolOptions = field(default_factory=HttpProtocolOptions)
    http_protocol_options: Http1ProtocolOptions = field(default_factory=Http1ProtocolOptions)
    max_request_headers_kb: int = 60
    request_timeout: float = 0.0
    request_headers_timeout: float = 0.0
    stream_idle_timeout: float = 300.0
    drain_timeout: float = 5.0  # only this default is accepted
    delayed_close_timeout: float = 1.0
    upgrade_configs: tuple[UpgradeConfig, ...] = ()
    path_with_escaped_slashes_action: PathWithEscapedSlashesAction = (
        PathWithEscapedSlashesAction.IMPLEMENTATION_SPECIFIC_DEFAULT
    )
