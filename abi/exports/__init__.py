"""Host functions by ABI area; `HOST_FUNCTIONS` is every import the host links (all ABI versions), and
`VARIANTS` other signatures of a few of them that real SDK builds import."""

from __future__ import annotations

from abi.exports import buffers, control, grpc, headers, http, metrics, properties, shared_data, stream, wasi
from abi.vm import HostFunction

HOST_FUNCTIONS: tuple[HostFunction, ...] = tuple(
    control.FUNCTIONS
    + buffers.FUNCTIONS
    + headers.FUNCTIONS
    + stream.FUNCTIONS
    + http.FUNCTIONS
    + grpc.FUNCTIONS
    + shared_data.FUNCTIONS
    + metrics.FUNCTIONS
    + properties.FUNCTIONS
    + wasi.FUNCTIONS
)

VARIANTS: tuple[HostFunction, ...] = tuple(grpc.VARIANTS)
