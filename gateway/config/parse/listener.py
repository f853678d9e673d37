"""Parsers of ``config.listener.v3``: Listener, FilterChain and network filters."""

from __future__ import annotations

from gateway.config.fields import Fields, Invalid
from gateway.config.model.core import SocketAddress
from gateway.config.model.listener import DrainType, Filter, FilterChain, Listener, TrafficDirection
from gateway.config.parse.common import parse_address
from gateway.config.registry import REGISTRY, Category

# FilterChainMatch fields: any of them set would need filter-chain matching, which is not supported yet.
_FILTER_CHAIN_MATCH_FIELDS = (
    "destination_port", "prefix_ranges", "address_suffix", "suffix_len", "direct_source_prefix_ranges",
    "source_type", "source_prefix_ranges", "source_ports", "server_names", "transport_protocol",
    "application_protocols",
)  # fmt: skip


def parse_listener(f: Fields) -> Listener:
    f.unsupported(
        "additional_addresses", "filter_chain_matcher", "use_original_dst", "default_filter_chain", "metadata",
        "deprecated_v1", "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout",
        "transparent", "freebind", "socket_options", "tcp_fast_open_queue_length", "udp_listener_config",
        "api_listener", "connection_balance_config", "reuse_port", "max_connections_to_accept_per_socket_event",
        "internal_listener", "enable_mptcp", "bypass_overload_manager", "access_log", "ignore_global_conn_limit",
        "stat_prefix",  # listener stats are always named by address
    )  # fmt: skip
    if f.raw("bind_to_port") not in (None, True, {"value": True}):
        f.error("bind_to_port", "false: not supported")
    address = f.message("address", parse_address, required=True)
    filter_chains = f.repeated_at("filter_chains", parse_filter_chain)
    if not f.count("filter_chains"):
        f.error("filter_chains", "at least one filter chain is required")
    for path, _ in filter_chains[1:]:
        f.ctx.sink.add(path, "a second filter chain needs filter_chain_match, which is not supported yet")
    name = f.string("name")
    buffer_limit = f.uint32("per_connection_buffer_limit_bytes", 1024 * 1024, wrapped=True)
    # Every listener drains with the server; MODIFY_ONLY would exempt it.
    f.enum("drain_type", DrainType, DrainType.DEFAULT, unsupported=(DrainType.MODIFY_ONLY,))
    # A hint for tracing and extensions the gateway does not have: accepted, no effect.
    f.enum("traffic_direction", TrafficDirection, TrafficDirection.UNSPECIFIED)
    enable_reuse_port = f.boolean("enable_reuse_port", True, wrapped=True)
    tcp_backlog_size = f.uint32("tcp_backlog_size", 128, wrapped=True, lo=1)
    if address is None or not filter_chains:
        raise Invalid
    return Listener(
        name=name or default_listener_name(address.socket_address),
        address=address,
        filter_chains=tuple(fc for _, fc in filter_chains),
        per_connection_buffer_limit_bytes=buffer_limit,
        enable_reuse_port=enable_reuse_port,
        tcp_backlog_size=tcp_backlog_size,
    )


def default_listener_name(address: SocketAddress) -> str:
    """The name of an unnamed listener: its address as Envoy's listener stats spell it (``0.0.0.0_80``)."""
    return f"{address.address}_{address.port_value}"


def parse_filter_chain(f: Fields) -> FilterChain:
    f.unsupported(
        "use_proxy_proto", "metadata", "transport_socket", "transport_socket_connect_timeout",
        "on_demand_configuration",
    )  # fmt: skip
    f.message("filter_chain_match", _parse_filter_chain_match)
    filters = f.repeated_at("filters", parse_network_filter)
    if not f.count("filters"):
        f.error("filters", "at least one filter is required")
    # Every supported network filter is terminal (it consumes the connection), so it must be the only one.
    for path, _ in filters[1:]:
        f.ctx.sink.add(path, "only one network filter per chain is supported (the first one is terminal)")
    chain = FilterChain(filters=tuple(nf for _, nf in filters), name=f.string("name"))
    if not filters:
        raise Invalid
    return chain


def _parse_filter_chain_match(f: Fields) -> None:
    f.unsupported(*_FILTER_CHAIN_MATCH_FIELDS)


def parse_network_filter(f: Fields) -> Filter:
    f.unsupported("config_discovery")
    name = f.string("name", required=True)
    typed_config = REGISTRY.parse_typed_config(f, Category.NETWORK_FILTER, name)
    if typed_config is None:
        raise Invalid
    return Filter(name=name, typed_config=typed_config)
