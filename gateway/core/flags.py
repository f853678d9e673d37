"""Envoy's response flags: why a stream ended the way it did, as ``%RESPONSE_FLAGS%`` prints them.

Bit values are ours; the short names are Envoy's, in Envoy's print order.
"""

from __future__ import annotations

from enum import IntFlag


class ResponseFlag(IntFlag):
    NONE = 0
    FAILED_LOCAL_HEALTH_CHECK = 1 << 0  # LH
    NO_HEALTHY_UPSTREAM = 1 << 1  # UH
    UPSTREAM_REQUEST_TIMEOUT = 1 << 2  # UT
    LOCAL_RESET = 1 << 3  # LR
    UPSTREAM_REMOTE_RESET = 1 << 4  # UR
    UPSTREAM_CONNECTION_FAILURE = 1 << 5  # UF
    UPSTREAM_CONNECTION_TERMINATION = 1 << 6  # UC
    UPSTREAM_OVERFLOW = 1 << 7  # UO
    NO_ROUTE_FOUND = 1 << 8  # NR
    DELAY_INJECTED = 1 << 9  # DI
    FAULT_INJECTED = 1 << 10  # FI
    RATE_LIMITED = 1 << 11  # RL
    UNAUTHORIZED_EXTERNAL_SERVICE = 1 << 12  # UAEX
    RATELIMIT_SERVICE_ERROR = 1 << 13  # RLSE
    DOWNSTREAM_CONNECTION_TERMINATION = 1 << 14  # DC
    UPSTREAM_RETRY_LIMIT_EXCEEDED = 1 << 15  # URX
    STREAM_IDLE_TIMEOUT = 1 << 16  # SI
    INVALID_ENVOY_REQUEST_HEADERS = 1 << 17  # IH
    DOWNSTREAM_PROTOCOL_ERROR = 1 << 18  # DPE
    UPSTREAM_MAX_STREAM_DURATION_REACHED = 1 << 19  # UMSDR
    RESPONSE_FROM_CACHE_FILTER = 1 << 20  # RFCF
    NO_FILTER_CONFIG_FOUND = 1 << 21  # NFCF
    DURATION_TIMEOUT = 1 << 22  # DT
    UPSTREAM_PROTOCOL_ERROR = 1 << 23  # UPE
    NO_CLUSTER_FOUND = 1 << 24  # NC
    OVERLOAD_MANAGER = 1 << 25  # OM
    DNS_RESOLUTION_FAILURE = 1 << 26  # DF
    DROP_OVERLOAD = 1 << 27  # DO
    DOWNSTREAM_REMOTE_RESET = 1 << 28  # DR


SHORT_NAMES: tuple[tuple[ResponseFlag, str], ...] = (
    (ResponseFlag.FAILED_LOCAL_HEALTH_CHECK, "LH"),
    (ResponseFlag.NO_HEALTHY_UPSTREAM, "UH"),
    (ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, "UT"),
    (ResponseFlag.LOCAL_RESET, "LR"),
    (ResponseFlag.UPSTREAM_REMOTE_RESET, "UR"),
    (ResponseFlag.UPSTREAM_CONNECTION_FAILURE, "UF"),
    (ResponseFlag.UPSTREAM_CONNECTION_TERMINATION, "UC"),
    (ResponseFlag.UPSTREAM_OVERFLOW, "UO"),
    (ResponseFlag.NO_ROUTE_FOUND, "NR"),
    (ResponseFlag.DELAY_INJECTED, "DI"),
    (ResponseFlag.FAULT_INJECTED, "FI"),
    (ResponseFlag.RATE_LIMITED, "RL"),
    (ResponseFlag.UNAUTHORIZED_EXTERNAL_SERVICE, "UAEX"),
    (ResponseFlag.RATELIMIT_SERVICE_ERROR, "RLSE"),
    (ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION, "DC"),
    (ResponseFlag.UPSTREAM_RETRY_LIMIT_EXCEEDED, "URX"),
    (ResponseFlag.STREAM_IDLE_TIMEOUT, "SI"),
    (ResponseFlag.INVALID_ENVOY_REQUEST_HEADERS, "IH"),
    (ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, "DPE"),
    (ResponseFlag.UPSTREAM_MAX_STREAM_DURATION_REACHED, "UMSDR"),
    (ResponseFlag.RESPONSE_FROM_CACHE_FILTER, "RFCF"),
    (ResponseFlag.NO_FILTER_CONFIG_FOUND, "NFCF"),
    (ResponseFlag.DURATION_TIMEOUT, "DT"),
    (ResponseFlag.UPSTREAM_PROTOCOL_ERROR, "UPE"),
    (ResponseFlag.NO_CLUSTER_FOUND, "NC"),
    (ResponseFlag.OVERLOAD_MANAGER, "OM"),
    (ResponseFlag.DNS_RESOLUTION_FAILURE, "DF"),
    (ResponseFlag.DROP_OVERLOAD, "DO"),
    (ResponseFlag.DOWNSTREAM_REMOTE_RESET, "DR"),
)


def format_flags(flags: int) -> str:
    """Envoy's ``%RESPONSE_FLAGS%``: comma-separated short names, ``-`` when none."""
    if not flags:
        return "-"
    return ",".join(name for flag, name in SHORT_NAMES if flags & flag)
