"""Stream control and local responses (reference §7.4, §8.6, §8.7, §9): resume and close (0.2.x and the
0.1.0 names), `proxy_send_local_response`, route-cache clearing. Every effect is deferred until the
plugin's callback returns. Network (TCP) stream types answer as Envoy does for an HTTP filter: resuming
the upstream direction is UNIMPLEMENTED, the rest is accepted and has nothing to act on."""

from __future__ import annotations

import re

from abi.context import AbiState
from abi.exports.base import env
from abi.host import LocalReply
from abi.memory import decode_pairs
from abi.types import GRPC_STATUS_MAX, Status, StreamType
from abi.vm import HostFunction

OK, BAD_ARGUMENT = Status.OK, Status.BAD_ARGUMENT
_WHITESPACE = re.compile(r"\s")


def _continue(state: AbiState, stream_type: int) -> int:
    if stream_type > StreamType.UPSTREAM:
        return BAD_ARGUMENT
    if stream_type == StreamType.UPSTREAM:
        return Status.UNIMPLEMENTED
    stream = state.stream()
    if stream is not None and stream_type <= StreamType.HTTP_RESPONSE:
        owner, direction = stream.owner, int(stream_type)
        state.defer(lambda: owner.resume(direction))
    return OK


def proxy_continue_stream(state: AbiState, stream_type: int) -> int:
    return _continue(state, stream_type)


def proxy_close_stream(state: AbiState, stream_type: int) -> int:
    if stream_type > StreamType.UPSTREAM:
        return BAD_ARGUMENT
    stream = state.stream()
    if stream is not None and stream_type <= StreamType.HTTP_RESPONSE:
        state.defer(stream.owner.close)
    return OK


def proxy_continue_request(state: AbiState) -> int:
    return _continue(state, StreamType.HTTP_REQUEST)


def proxy_continue_response(state: AbiState) -> int:
    return _continue(state, StreamType.HTTP_RESPONSE)


def proxy_send_local_response(
    state: AbiState,
    status: int,
    details_ptr: int,
    details_len: int,
    body_ptr: int,
    body_len: int,
    headers_ptr: int,
    headers_len: int,
    grpc_status: int,
) -> int:
    memory = state.memory
    details = memory.read(details_ptr, details_len).decode("utf-8", "replace")
    body = memory.read(body_ptr, body_len)
    limits = state.limits
    headers = decode_pairs(memory.peek(headers_ptr, headers_len), limits.max_pairs_bytes, limits.max_pairs_count)
    stream = state.stream()
    if stream is None:
        return OK  # Envoy silently ignores it outside an HTTP stream
    reply = LocalReply(
        status,
        body,
        [(k.lower(), v) for k, v in headers],
        _WHITESPACE.sub("_", details),
        grpc_status if grpc_status <= GRPC_STATUS_MAX else None,
    )
    stream.local_reply += 1
    if stream.reply_pending:
        return OK  # a second reply in the same callback: the first one stands
    stream.reply_pending = True
    owner = stream.owner

    def send() -> None:
        stream.reply_pending = False
        owner.local_reply(reply)

    state.defer(send)
    return OK


def proxy_clear_route_cache(state: AbiState) -> int:
    stream = state.stream()
    if stream is not None:
        stream.host.clear_route_cache()
    return OK


FUNCTIONS: list[HostFunction] = [
    env("proxy_continue_stream", "i", proxy_continue_stream),
    env("proxy_close_stream", "i", proxy_close_stream),
    env("proxy_continue_request", "", proxy_continue_request),
    env("proxy_continue_response", "", proxy_continue_response),
    env("proxy_send_local_response", "iiiiiiii", proxy_send_local_response),
    env("proxy_clear_route_cache", "", proxy_clear_route_cache),
]
