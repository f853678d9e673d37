"""The command operators: each turns a parsed ``%COMMAND(arg)%`` into a provider, a function of the stream.

A provider returns ``int`` for numeric commands (typed JSON logs print them as numbers), ``str`` otherwise and
``None`` when the value is not known (``-`` in text, ``null`` in JSON). Arguments are parsed here, once, at config
time; a provider only reads the StreamInfo.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter

from gateway.core.flags import format_flags
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.formatter.parser import Command
from gateway.formatter.start_time import DEFAULT as DEFAULT_START_TIME
from gateway.formatter.start_time import StartTimeFormat

Value = str | int | None
Provider = Callable[[StreamInfo], Value]


class Arg(Enum):
    NONE = "takes no argument"
    REQUIRED = "requires an argument"
    OPTIONAL = ""


@dataclass(frozen=True, slots=True)
class Compiled:
    """A provider, or (``provider`` None) a value that never depends on the stream (HOSTNAME, ENVIRONMENT)."""

    provider: Provider | None
    value: Value = None


@dataclass(frozen=True, slots=True)
class _Spec:
    build: Callable[[str | None], Compiled]
    arg: Arg
    numeric: bool  # numbers cannot be truncated with ``:N``


def compile_command(command: Command) -> Compiled:
    """The provider for ``command``; ValueError with a message naming the operator when it is unknown or misused."""
    spec = _COMMANDS.get(command.name)
    if spec is None:
        raise ValueError(f"unknown command {command.text}")
    if spec.arg is Arg.NONE and command.arg is not None:
        raise ValueError(f"{command.text}: {command.name} {spec.arg.value}")
    if spec.arg is Arg.REQUIRED and not command.arg:
        raise ValueError(f"{command.text}: {command.name} {spec.arg.value}")
    if command.max_length is not None and spec.numeric:
        raise ValueError(f"{command.text}: a length limit applies only to text values")
    compiled = spec.build(command.arg)
    limit = command.max_length
    if limit is None:
        return compiled
    if compiled.provider is None:
        return Compiled(None, compiled.value[:limit] if isinstance(compiled.value, str) else compiled.value)
    return Compiled(_truncated(compiled.provider, limit))


def _truncated(provider: Provider, limit: int) -> Provider:
    def truncated(info: StreamInfo) -> Value:
        value = provider(info)
        return value[:limit] if isinstance(value, str) else value

    return truncated


def _stream(provider: Provider) -> Callable[[str | None], Compiled]:
    return lambda _arg: Compiled(provider)


# --- headers -----------------------------------------------------------------------------------------------------


def _header(which: str, strip_query: bool = False) -> Callable[[str | None], Compiled]:
    """``REQ(X?Y)``: header X, else header Y; repeated headers are joined with commas."""
    get_map: Callable[[StreamInfo], HeaderMap | None] = attrgetter(which)

    def build(arg: str | None) -> Compiled:
        assert arg is not None  # Arg.REQUIRED
        main, sep, alternative = arg.partition("?")
        if not main or (sep and not alternative) or "?" in alternative:
            raise ValueError(f"invalid header argument {arg!r}: expected NAME or NAME?ALTERNATIVE")
        names: list[bytes] = []
        for name in (main, alternative):
            if name:
                lowered = name.strip().lower().encode()
                # Envoy stores Host as :authority, so either name finds it.
                names.extend((b":authority", b"host") if lowered in (b"host", b":authority") else (lowered,))

        def provider(info: StreamInfo) -> Value:
            headers = get_map(info)
            if headers is None:
                return None
            for name in names:
                value = headers.joined(name)
                if value is not None:
                    text = value.decode("utf-8", "surrogateescape")
                    return text.partition("?")[0] if strip_query else text
            return None

        return Compiled(provider)

    return build


# --- addresses ---------------------------------------------------------------------------------------------------


def _host_port(address: tuple[str, int]) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _remote(info: StreamInfo) -> tuple[str, int]:
    return info.downstream_remote_address or info.connection.remote_address


def _direct(info: StreamInfo) -> tuple[str, int]:
    return info.connection.remote_address


def _local(info: StreamInfo) -> tuple[str, int]:
    return info.connection.local_address


def _address_commands(prefix: str, get: Callable[[StreamInfo], tuple[str, int]]) -> dict[str, _Spec]:
    return {
        f"{prefix}_ADDRESS": _Spec(_stream(lambda info: _host_port(get(info))), Arg.NONE, False),
        f"{prefix}_ADDRESS_WITHOUT_PORT": _Spec(_stream(lambda info: get(info)[0]), Arg.NONE, False),
        f"{prefix}_PORT": _Spec(_stream(lambda info: get(info)[1]), Arg.NONE, True),
    }


# --- times -------------------------------------------------------------------------------------------------------


def _start_time(arg: str | None) -> Compiled:
    fmt = StartTimeFormat(arg or DEFAULT_START_TIME)
    return Compiled(lambda info: fmt(info.start_time))


def _since_start(field: str) -> Provider:
    get: Callable[[StreamInfo], float | None] = attrgetter(field)
    return lambda info: info.since_start_ms(get(info))


def _response_tx_duration(info: StreamInfo) -> Value:
    first_rx, last_tx = info.first_upstream_rx_byte, info.last_downstream_tx_byte
    if first_rx is None or last_tx is None:
        return None
    return int((last_tx - first_rx) * 1000)


# --- flags -------------------------------------------------------------------------------------------------------


@functools.cache
def _flags_text(flags: int) -> str:
    return format_flags(flags)  # walks IntFlag members (slow); few combinations ever occur, so cache them


def _response_flags(info: StreamInfo) -> Value:
    flags = info.response_flags
    return _flags_text(int(flags)) if flags else None


# --- process -----------------------------------------------------------------------------------------------------


def _environment(arg: str | None) -> Compiled:
    return Compiled(None, os.environ.get(arg or ""))


def _text(field: str) -> Provider:
    """A string field of StreamInfo where ``""`` means not set."""
    get: Callable[[StreamInfo], str] = attrgetter(field)
    return lambda info: get(info) or None


def _text_spec(field: str) -> _Spec:
    return _Spec(_stream(_text(field)), Arg.NONE, False)


def _number_spec(provider: Provider) -> _Spec:
    return _Spec(_stream(provider), Arg.NONE, True)


_COMMANDS: dict[str, _Spec] = {
    "REQ": _Spec(_header("request_headers"), Arg.REQUIRED, False),
    "REQUEST_HEADER": _Spec(_header("request_headers"), Arg.REQUIRED, False),
    "REQ_WITHOUT_QUERY": _Spec(_header("request_headers", strip_query=True), Arg.REQUIRED, False),
    "RESP": _Spec(_header("response_headers"), Arg.REQUIRED, False),
    "RESPONSE_HEADER": _Spec(_header("response_headers"), Arg.REQUIRED, False),
    "TRAILER": _Spec(_header("response_trailers"), Arg.REQUIRED, False),
    "RESPONSE_TRAILER": _Spec(_header("response_trailers"), Arg.REQUIRED, False),
    "START_TIME": _Spec(_start_time, Arg.OPTIONAL, False),
    "RESPONSE_CODE": _number_spec(lambda info: info.response_code),
    "RESPONSE_CODE_DETAILS": _text_spec("response_code_details"),
    "RESPONSE_FLAGS": _Spec(_stream(_response_flags), Arg.NONE, False),
    "DURATION": _number_spec(lambda info: info.duration_ms()),
    "REQUEST_DURATION": _number_spec(_since_start("last_downstream_rx_byte")),
    "REQUEST_TX_DURATION": _number_spec(_since_start("last_upstream_tx_byte")),
    "RESPONSE_DURATION": _number_spec(_since_start("first_upstream_rx_byte")),
    "RESPONSE_TX_DURATION": _number_spec(_response_tx_duration),
    "BYTES_RECEIVED": _number_spec(lambda info: info.bytes_received),
    "BYTES_SENT": _number_spec(lambda info: info.bytes_sent),
    "PROTOCOL": _text_spec("protocol"),
    "UPSTREAM_HOST": _text_spec("upstream_host"),
    "UPSTREAM_REMOTE_ADDRESS": _text_spec("upstream_host"),
    "UPSTREAM_CLUSTER": _text_spec("cluster_name"),
    "UPSTREAM_LOCAL_ADDRESS": _text_spec("upstream_local_address"),
    "UPSTREAM_TRANSPORT_FAILURE_REASON": _text_spec("upstream_transport_failure_reason"),
    "UPSTREAM_REQUEST_ATTEMPT_COUNT": _number_spec(lambda info: info.attempt_count),
    **_address_commands("DOWNSTREAM_REMOTE", _remote),
    **_address_commands("DOWNSTREAM_DIRECT_REMOTE", _direct),
    **_address_commands("DOWNSTREAM_LOCAL", _local),
    "REQUESTED_SERVER_NAME": _Spec(
        _stream(lambda info: info.connection.requested_server_name or None), Arg.NONE, False
    ),
    "DOWNSTREAM_TLS_VERSION": _Spec(_stream(lambda info: info.connection.tls_version or None), Arg.NONE, False),
    "ROUTE_NAME": _text_spec("route_name"),
    "CONNECTION_ID": _number_spec(lambda info: info.connection.connection_id),
    "STREAM_ID": _text_spec("request_id"),
    "UNIQUE_ID": _Spec(_stream(lambda _info: str(uuid.uuid4())), Arg.NONE, False),
    "HOSTNAME": _Spec(lambda _arg: Compiled(None, socket.gethostname()), Arg.NONE, False),
    "ENVIRONMENT": _Spec(_environment, Arg.REQUIRED, False),
}
