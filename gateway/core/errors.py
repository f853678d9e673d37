"""Typed errors that know their source and map to Envoy's response flags and local-reply statuses.

Foreign exceptions (OSError, h11/h2/httptools errors, wasmtime traps) are translated into these at the boundary
where they are caught, so everything above sees one vocabulary.
"""

from __future__ import annotations

from enum import Enum

from gateway.core.flags import ResponseFlag


class Source(Enum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    PLUGIN = "plugin"
    CONFIG = "config"
    LOCAL = "local"


class ResetReason(Enum):
    """Why a stream was reset, with the text Envoy prints in ``reset reason: ...`` details."""

    CONNECTION_FAILURE = "connection failure"
    CONNECTION_TIMEOUT = "connection timeout"
    CONNECTION_TERMINATION = "connection termination"
    LOCAL_RESET = "local reset"
    LOCAL_REFUSED_STREAM_RESET = "local refused stream reset"
    OVERFLOW = "overflow"
    REMOTE_RESET = "remote reset"
    REMOTE_REFUSED_STREAM_RESET = "remote refused stream reset"
    PROTOCOL_ERROR = "protocol error"
    OVERLOAD_MANAGER = "overload manager reset"


class GatewayError(Exception):
    """Base of every typed error; ``source`` says who caused it."""

    source: Source = Source.LOCAL
    flag: ResponseFlag = ResponseFlag.NONE


class ConfigError(GatewayError):
    """A config fault, carrying the YAML path of the offending node (``static_resources.clusters[0].name``)."""

    source = Source.CONFIG

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class CodecError(GatewayError):
    """A peer sent bytes the codec rejects. ``status`` is the local reply for a downstream peer (400/413/431)."""

    def __init__(self, message: str, status: int = 400, source: Source = Source.DOWNSTREAM) -> None:
        super().__init__(message)
        self.status = status
        self.source = source
        self.flag = (
            ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR
            if source is Source.DOWNSTREAM
            else ResponseFlag.UPSTREAM_PROTOCOL_ERROR
        )
