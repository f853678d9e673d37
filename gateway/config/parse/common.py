"""Parsers of the shared ``core.v3`` and ``type.matcher.v3`` messages."""

from __future__ import annotations

import os

from gateway.config.fields import Fields, Invalid
from gateway.config.model.core import (
    Address,
    DataSource,
    HeaderAppendAction,
    HeadersWithUnderscoresAction,
    HeaderValue,
    HeaderValueOption,
    Http1ProtocolOptions,
    HttpProtocolOptions,
    Locality,
    Node,
    RegexMatcher,
    SocketAddress,
    SocketProtocol,
    StringMatcher,
)
from gateway.config.regex import compile_re2

# Envoy's HTTP_HEADER_NAME / HTTP_HEADER_VALUE checks in their non-strict form: no NUL, CR or LF.
_FORBIDDEN_IN_HEADERS = frozenset("\0\r\n")
_MAX_HEADER_KEY = 16384
# HttpProtocolOptions fields only the connection manager applies.
_DOWNSTREAM_ONLY = ("max_connection_duration", "max_headers_count", "max_stream_duration")


def parse_socket_address(f: Fields) -> SocketAddress:
    f.unsupported("named_port", "resolver_name", "network_namespace_filepath")
    address = f.string("address", required=True)
    port = f.uint32("port_value", hi=65535)
    protocol = f.enum("protocol", SocketProtocol, SocketProtocol.TCP, unsupported=(SocketProtocol.UDP,))
    ipv4_compat = f.boolean("ipv4_compat")
    if not address:
        raise Invalid
    return SocketAddress(address=address, port_value=port, protocol=protocol, ipv4_compat=ipv4_compat)


def parse_address(f: Fields) -> Address:
    f.unsupported("pipe", "envoy_internal_address")
    socket_address = f.message("socket_address", parse_socket_address, required=True)
    if socket_address is None:
        raise Invalid
    return Address(socket_address=socket_address)


def parse_locality(f: Fields) -> Locality:
    return Locality(region=f.string("region"), zone=f.string("zone"), sub_zone=f.string("sub_zone"))


def parse_node(f: Fields) -> Node:
    f.unsupported("dynamic_parameters", "extensions", "listening_addresses", "user_agent_build_version")
    return Node(
        id=f.string("id"),
        cluster=f.string("cluster"),
        metadata=f.struct("metadata") or {},
        locality=f.message("locality", parse_locality),
        user_agent_name=f.string("user_agent_name"),
        user_agent_version=f.string("user_agent_version"),
        client_features=f.strings("client_features"),
    )


def parse_metadata(f: Fields) -> dict[str, object]:
    """``core.v3.Metadata``: its ``filter_metadata`` (namespace -> Struct)."""
    f.unsupported("typed_filter_metadata")
    return f.struct("filter_metadata") or {}


def parse_data_source(f: Fields) -> DataSource:
    f.unsupported("watched_directory")
    which = f.oneof("filename", "inline_bytes", "inline_string", "environment_variable", required=True)
    source = DataSource(
        filename=f.opt_string("filename"),
        inline_bytes=f.bytes_("inline_bytes"),
        inline_string=f.opt_string("inline_string"),
        environment_variable=f.opt_string("environment_variable"),
    )
    if which is None or getattr(source, which) is None:
        raise Invalid
    return source


def read_data_source(f: Fields, field: str, source: DataSource) -> bytes | None:
    """The bytes a DataSource stands for, read now as Envoy does at config load; None (fault recorded) when the
    file or variable is missing."""
    if source.inline_bytes is not None:
        return source.inline_bytes
    if source.inline_string is not None:
        return source.inline_string.encode()
    if source.filename is not None:
        try:
            with open(source.filename, "rb") as file:
                return file.read()
        except OSError as e:
            f.error(field, f"cannot read {source.filename!r}: {e.strerror}")
            return None
    assert source.environment_variable is not None  # the oneof is required
    value = os.environ.get(source.environment_variable)
    if value is None:
        f.error(field, f"environment variable {source.environment_variable!r} is not set")
        return None
    return value.encode()


def header_name_fault(name: str) -> str | None:
    """What is wrong with a header name by Envoy's rule (non-strict: not empty, no NUL/CR/LF, at most 16 KiB)."""
    if not name:
        return "header name must not be empty"
    if _FORBIDDEN_IN_HEADERS & set(name) or len(name) > _MAX_HEADER_KEY:
        return f"invalid header name {name!r}"
    return None


def check_header_name(f: Fields, field: str, name: str) -> bool:
    fault = header_name_fault(name)
    if fault is not None:
        f.error(field, fault)
    return fault is None


def _mutable_header_fault(name: str) -> str | None:
    """A header Envoy lets configs add or remove: not a pseudo-header, not Host (those are routing inputs)."""
    if name.startswith(":") or name.lower() == "host":
        return f"{name!r}: ':'-prefixed or host headers may not be modified"
    return header_name_fault(name)


def parse_header_value(f: Fields) -> HeaderValue:
    f.unsupported("raw_value")
    key = f.string("key", required=True)
    value = f.string("value")
    if _FORBIDDEN_IN_HEADERS & set(value):
        f.error("value", "header value must not contain NUL, CR or LF")
    fault = _mutable_header_fault(key) if key else None
    if fault is not None:
        f.error("key", fault)
    if not key or fault is not None:
        raise Invalid
    return HeaderValue(key=key, value=value)


def parse_header_value_option(f: Fields) -> HeaderValueOption:
    header = f.message("header", parse_header_value, required=True)
    append = f.opt_bool("append", wrapped=True)
    action = f.enum("append_action", HeaderAppendAction, HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD)
    if append is not None and f.has("append_action"):
        f.error("append", "append and append_action may not both be set")
    elif append is not None:
        action = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD if append else HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
    keep_empty_value = f.boolean("keep_empty_value")
    if header is None:
        raise Invalid
    return HeaderValueOption(header=header, append_action=action, keep_empty_value=keep_empty_value, append=append)


def parse_headers_to_add(f: Fields, field: str) -> tuple[HeaderValueOption, ...]:
    return f.repeated(field, parse_header_value_option)


def parse_headers_to_remove(f: Fields, field: str) -> tuple[str, ...]:
    valid: list[str] = []
    for path, name in f.strings_at(field):
        fault = _mutable_header_fault(name)
        if fault is None:
            valid.append(name.lower())
        else:
            f.ctx.sink.add(path, fault)
    return tuple(valid)


def _parse_google_re2(f: Fields) -> None:
    f.unsupported("max_program_size")  # deprecated; Envoy's RE2 program-size limit has no Python equivalent


def parse_regex_matcher(f: Fields) -> RegexMatcher:
    f.message("google_re2", _parse_google_re2)
    regex = f.string("regex", required=True)
    try:
        compiled = compile_re2(regex)
    except ValueError as e:
        f.error("regex", str(e))
        raise Invalid from None
    return RegexMatcher(regex=regex, compiled=compiled)


def parse_string_matcher(f: Fields) -> StringMatcher:
    f.unsupported("custom")
    which = f.oneof("exact", "prefix", "suffix", "contains", "safe_regex", required=True)
    matcher = StringMatcher(
        exact=f.opt_string("exact"),
        prefix=f.opt_string("prefix"),
        suffix=f.opt_string("suffix"),
        contains=f.opt_string("contains"),
        safe_regex=f.message("safe_regex", parse_regex_matcher),
        ignore_case=f.boolean("ignore_case"),
    )
    for field in ("prefix", "suffix", "contains"):
        if getattr(matcher, field) == "":
            f.error(field, "must not be empty")
    if which is None or getattr(matcher, which) is None:
        raise Invalid
    return matcher


def parse_http_protocol_options(f: Fields, *, downstream: bool) -> HttpProtocolOptions:
    """``core.v3.HttpProtocolOptions``. The connection manager applies ``idle_timeout``, ``max_connection_duration``,
    ``max_headers_count`` and ``max_stream_duration``; upstream pools apply ``idle_timeout`` and
    ``max_requests_per_connection``. Any other field away from its default is refused on that side."""
    f.unsupported("max_response_headers_kb")
    f.enum(
        "headers_with_underscores_action",
        HeadersWithUnderscoresAction,
        HeadersWithUnderscoresAction.ALLOW,
        unsupported=(HeadersWithUnderscoresAction.REJECT_REQUEST, HeadersWithUnderscoresAction.DROP_HEADER),
    )
    options = HttpProtocolOptions(
        idle_timeout=f.duration("idle_timeout", 3600.0),
        max_connection_duration=f.duration("max_connection_duration", 0.0),
        max_headers_count=f.uint32("max_headers_count", 100, wrapped=True, lo=1),
        max_stream_duration=f.duration("max_stream_duration", 0.0),
        max_requests_per_connection=f.uint32("max_requests_per_connection", 0, wrapped=True),
    )
    default = HttpProtocolOptions()
    ignored = ("max_requests_per_connection",) if downstream else _DOWNSTREAM_ONLY
    for field in ignored:
        if getattr(options, field) != getattr(default, field):
            f.error(field, "not supported")
    return options


def parse_http1_protocol_options(f: Fields) -> Http1ProtocolOptions:
    """``core.v3.Http1ProtocolOptions``. The codecs always take absolute URLs, proxy trailers, reject a
    request with both content-length and transfer-encoding and close the connection on a malformed message:
    settings asking otherwise are refused; ``enable_trailers`` is accepted either way."""
    f.unsupported(
        "header_key_format", "send_fully_qualified_url", "use_balsa_parser", "allow_custom_methods",
        "ignore_http_11_upgrade", "default_host_for_http_10", "allow_chunked_length",
    )  # fmt: skip
    if not f.boolean("allow_absolute_url", True, wrapped=True):
        f.error("allow_absolute_url", "false: not supported")
    if f.boolean("override_stream_error_on_invalid_http_message", wrapped=True):
        f.error("override_stream_error_on_invalid_http_message", "true: not supported")
    f.boolean("enable_trailers")
    return Http1ProtocolOptions(accept_http_10=f.boolean("accept_http_10"))
