"""gRPC calls and streams (reference §7.6): linked so plugins that import them load, answering as a host
without a gRPC client does (the C++ host's default context): arguments are checked, then UNIMPLEMENTED."""

from __future__ import annotations

from abi.context import AbiState
from abi.exports.base import env
from abi.types import Status
from abi.vm import HostFunction


def _check_ranges(state: AbiState, *ranges: int) -> None:
    for i in range(0, len(ranges), 2):
        state.memory.peek(ranges[i], ranges[i + 1])


def proxy_grpc_call(
    state: AbiState,
    up: int,
    up_len: int,
    svc: int,
    svc_len: int,
    method: int,
    method_len: int,
    meta: int,
    meta_len: int,
    msg: int,
    msg_len: int,
    timeout_ms: int,
    token_out: int,
) -> int:
    _check_ranges(state, up, up_len, svc, svc_len, method, method_len, meta, meta_len, msg, msg_len)
    return Status.UNIMPLEMENTED


def proxy_grpc_stream(
    state: AbiState,
    up: int,
    up_len: int,
    svc: int,
    svc_len: int,
    method: int,
    method_len: int,
    meta: int,
    meta_len: int,
    token_out: int,
) -> int:
    _check_ranges(state, up, up_len, svc, svc_len, method, method_len, meta, meta_len)
    return Status.UNIMPLEMENTED


def proxy_grpc_send(state: AbiState, token: int, msg: int, msg_len: int, end_stream: int) -> int:
    _check_ranges(state, msg, msg_len)
    return Status.UNIMPLEMENTED


def proxy_grpc_token(state: AbiState, token: int) -> int:
    return Status.UNIMPLEMENTED


def as_grpc_call(
    state: AbiState,
    up: int,
    up_len: int,
    svc: int,
    svc_len: int,
    method: int,
    method_len: int,
    msg: int,
    msg_len: int,
    timeout_ms: int,
    token_out: int,
) -> int:
    _check_ranges(state, up, up_len, svc, svc_len, method, method_len, msg, msg_len)
    return Status.UNIMPLEMENTED


def as_grpc_stream(
    state: AbiState, up: int, up_len: int, svc: int, svc_len: int, method: int, method_len: int, token_out: int
) -> int:
    _check_ranges(state, up, up_len, svc, svc_len, method, method_len)
    return Status.UNIMPLEMENTED


# The AssemblyScript SDK declares these two without their metadata arguments (10 and 7 parameters);
# modules that import them so are linked with these shapes instead of failing to load.
VARIANTS: list[HostFunction] = [
    env("proxy_grpc_call", "iiiiiiiiii", as_grpc_call),
    env("proxy_grpc_stream", "iiiiiii", as_grpc_stream),
]

FUNCTIONS: list[HostFunction] = [
    env("proxy_grpc_call", "iiiiiiiiiiii", proxy_grpc_call),
    env("proxy_grpc_stream", "iiiiiiiii", proxy_grpc_stream),
    env("proxy_grpc_send", "iiii", proxy_grpc_send),
    env("proxy_grpc_cancel", "i", proxy_grpc_token),
    env("proxy_grpc_close", "i", proxy_grpc_token),
]
