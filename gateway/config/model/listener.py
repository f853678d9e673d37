"""``config.listener.v3``: Listener, FilterChain and network filters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.config.model.core import Address


@dataclass(frozen=True, slots=True)
class Filter:
    """A network filter. ``typed_config`` is the parsed config its type URL (or ``name``) selects:
    ``HttpConnectionManager`` today; see ``gateway.config.registry``."""

    name: str
    typed_config: object


@dataclass(frozen=True, slots=True)
class FilterChain:
    """``listener.v3.FilterChain``; ``filter_chain_match`` is accepted only when empty and ``transport_socket``
    (TLS) is not supported yet, so every connection takes the listener's single filter chain."""

    filters: tuple[Filter, ...]
    name: str = ""


class DrainType(Enum):  # only DEFAULT is accepted
    DEFAULT = 0
    MODIFY_ONLY = 1


class TrafficDirection(Enum):  # accepted, not kept
    UNSPECIFIED = 0
    INBOUND = 1
    OUTBOUND = 2


@dataclass(frozen=True, slots=True)
class Listener:
    """``listener.v3.Listener``.

    Envoy names an unnamed listener with a random UUID; we name it after its address (``0.0.0.0_80``, the form
    Envoy's listener stats use) so that names are stable across restarts and in ``/listeners``.
    """

    name: str
    address: Address
    filter_chains: tuple[FilterChain, ...]
    per_connection_buffer_limit_bytes: int = 1024 * 1024
    enable_reuse_port: bool = True
    tcp_backlog_size: int = 128
