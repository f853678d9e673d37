"""The proxy-wasm ABI's enumerations, with the exact numbers plugins see (reference §4)."""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """`proxy_status_t` (WasmResult): what every `proxy_*` host function returns."""

    OK = 0
    NOT_FOUND = 1
    BAD_ARGUMENT = 2
    SERIALIZATION_FAILURE = 3
    PARSE_FAILURE = 4
    BAD_EXPRESSION = 5
    INVALID_MEMORY_ACCESS = 6
    EMPTY = 7
    CAS_MISMATCH = 8
    RESULT_MISMATCH = 9
    INTERNAL_FAILURE = 10
    BROKEN_CONNECTION = 11
    UNIMPLEMENTED = 12


class LogLevel(IntEnum):
    TRACE = 0
    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4
    CRITICAL = 5


class MapType(IntEnum):
    HTTP_REQUEST_HEADERS = 0
    HTTP_REQUEST_TRAILERS = 1
    HTTP_RESPONSE_HEADERS = 2
    HTTP_RESPONSE_TRAILERS = 3
    GRPC_CALL_INITIAL_METADATA = 4
    GRPC_CALL_TRAILING_METADATA = 5
    HTTP_CALL_RESPONSE_HEADERS = 6
    HTTP_CALL_RESPONSE_TRAILERS = 7


class BufferType(IntEnum):
    HTTP_REQUEST_BODY = 0
    HTTP_RESPONSE_BODY = 1
    DOWNSTREAM_DATA = 2
    UPSTREAM_DATA = 3
    HTTP_CALL_RESPONSE_BODY = 4
    GRPC_CALL_MESSAGE = 5
    VM_CONFIGURATION = 6
    PLUGIN_CONFIGURATION = 7
    FOREIGN_FUNCTION_ARGUMENTS = 8


class StreamType(IntEnum):
    HTTP_REQUEST = 0
    HTTP_RESPONSE = 1
    DOWNSTREAM = 2
    UPSTREAM = 3


class MetricType(IntEnum):
    COUNTER = 0
    GAUGE = 1
    HISTOGRAM = 2


class AbiVersion(IntEnum):
    """Chosen by the module's exported marker function (reference §1)."""

    V0_1_0 = 10
    V0_2_0 = 20
    V0_2_1 = 21


class FilterHeadersStatus(IntEnum):
    """The decision for a headers callback, after Envoy's conversion (reference §8.1)."""

    CONTINUE = 0
    STOP_ITERATION = 1
    STOP_ALL_ITERATION_AND_BUFFER = 3
    STOP_ALL_ITERATION_AND_WATERMARK = 4


class FilterDataStatus(IntEnum):
    """The decision for a body callback (reference §8.1/§8.2)."""

    CONTINUE = 0
    STOP_ITERATION_AND_BUFFER = 1
    STOP_ITERATION_AND_WATERMARK = 2
    STOP_ITERATION_NO_BUFFER = 3


class FilterTrailersStatus(IntEnum):
    CONTINUE = 0
    STOP_ITERATION = 1


class FailurePolicy(IntEnum):
    """Envoy's `failure_policy` (wasm.proto numbering; UNSPECIFIED behaves as FAIL_CLOSED)."""

    UNSPECIFIED = 0
    FAIL_RELOAD = 1
    FAIL_CLOSED = 2
    FAIL_OPEN = 3


GRPC_STATUS_MAX = 16
"""`proxy_send_local_response` adds `grpc-status` only for 0..16; anything else means none."""
