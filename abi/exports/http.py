"""HTTP callouts (reference §7.5, §10): `proxy_http_call` validates like Envoy (pseudo-headers, signed
timeout), belongs to the caller's root context, and answers later through `proxy_on_http_call_response`."""

from __future__ import annotations

from abi.context import AbiState
from abi.exports.base import env
from abi.host import HttpCallRequest
from abi.memory import decode_pairs
from abi.types import Status
from abi.vm import HostFunction

_REQUIRED = (b":method", b":path", b":authority")


def proxy_http_call(
    state: AbiState,
    upstream_ptr: int,
    upstream_len: int,
    headers_ptr: int,
    headers_len: int,
    body_ptr: int,
    body_len: int,
    trailers_ptr: int,
    trailers_len: int,
    timeout_ms: int,
    token_out: int,
) -> int:
    memory = state.memory
    limits = state.limits
    upstream = memory.read(upstream_ptr, upstream_len)
    headers = decode_pairs(memory.peek(headers_ptr, headers_len), limits.max_pairs_bytes, limits.max_pairs_count)
    body = memory.read(body_ptr, body_len)
    trailers = decode_pairs(memory.peek(trailers_ptr, trailers_len), limits.max_pairs_bytes, limits.max_pairs_count)
    memory.write_u32(token_out, 0)  # validates the address before anything starts
    if timeout_ms > 0x7FFFFFFF:  # negative as a signed 32-bit value
        return Status.BAD_ARGUMENT
    headers = [(k.lower(), v) for k, v in headers]
    names = {k for k, _ in headers}
    if any(required not in names for required in _REQUIRED):
        return Status.BAD_ARGUMENT
    if body and b"content-length" not in names:
        headers.append((b"content-length", str(len(body)).encode()))
    root = state.root()
    if root is None:
        return Status.BAD_ARGUMENT
    request = HttpCallRequest(
        upstream.decode("utf-8", "replace"), headers, body, [(k.lower(), v) for k, v in trailers], timeout_ms
    )
    status, token = state.http_call(root, request)
    if status == Status.OK:
        memory.write_u32(token_out, token)
    return status


FUNCTIONS: list[HostFunction] = [env("proxy_http_call", "iiiiiiiiii", proxy_http_call)]
