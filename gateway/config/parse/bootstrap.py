"""Parsers of ``config.bootstrap.v3``: Bootstrap, StaticResources, Admin, bootstrap extensions; the checks that
span listeners and clusters (unique names and addresses)."""

from __future__ import annotations

from gateway.config.fields import Fields, Invalid
from gateway.config.model.bootstrap import Admin, Bootstrap, BootstrapExtension, StaticResources
from gateway.config.model.cluster import Cluster
from gateway.config.model.core import Node
from gateway.config.model.listener import Listener
from gateway.config.parse.access_log import parse_access_log
from gateway.config.parse.cluster import parse_cluster
from gateway.config.parse.common import parse_address, parse_node
from gateway.config.parse.listener import parse_listener
from gateway.config.registry import REGISTRY, Category


def parse_bootstrap(f: Fields) -> Bootstrap:
    f.unsupported(
        "node_context_params", "dynamic_resources", "cluster_manager", "hds_config", "flags_path", "stats_sinks",
        "deferred_stat_options", "stats_config", "stats_flush_interval", "stats_flush_on_admin", "watchdog",
        "watchdogs", "tracing", "runtime", "layered_runtime", "overload_manager", "enable_dispatcher_stats",
        "header_prefix", "stats_server_version_override", "use_tcp_for_dns_lookups", "dns_resolution_config",
        "typed_dns_resolver_config", "fatal_actions", "config_sources", "default_config_source",
        "default_socket_interface", "certificate_provider_instances", "inline_headers", "perf_tracing_file_path",
        "default_regex_engine", "xds_delegate_extension", "xds_config_tracker_extension", "listener_manager",
        "application_log_config", "grpc_async_client_manager_config", "memory_allocator_manager",
    )  # fmt: skip
    return Bootstrap(
        node=f.message("node", parse_node) or Node(),
        admin=f.message("admin", parse_admin) or Admin(),
        static_resources=f.message("static_resources", parse_static_resources) or StaticResources(),
        bootstrap_extensions=f.repeated("bootstrap_extensions", parse_bootstrap_extension),
    )


def parse_static_resources(f: Fields) -> StaticResources:
    f.unsupported("secrets")
    clusters = f.repeated_at("clusters", parse_cluster)
    listeners = f.repeated_at("listeners", parse_listener)
    _check_unique_clusters(f, clusters)
    _check_unique_listeners(f, listeners)
    return StaticResources(listeners=tuple(li for _, li in listeners), clusters=tuple(c for _, c in clusters))


def _check_unique_clusters(f: Fields, clusters: list[tuple[str, Cluster]]) -> None:
    seen: dict[str, str] = {}
    for path, cluster in clusters:
        if cluster.name in seen:
            f.ctx.sink.add(f"{path}.name", f"duplicate cluster name {cluster.name!r} (first in {seen[cluster.name]})")
        seen.setdefault(cluster.name, path)


def _check_unique_listeners(f: Fields, listeners: list[tuple[str, Listener]]) -> None:
    names: dict[str, str] = {}
    addresses: dict[tuple[str, int], str] = {}
    for path, listener in listeners:
        socket = listener.address.socket_address
        key = (socket.address, socket.port_value)
        if socket.port_value and key in addresses:  # port 0 asks the kernel for a fresh port: never a clash
            f.ctx.sink.add(
                f"{path}.address", f"duplicate listener address {listener.address} (first in {addresses[key]})"
            )
        elif listener.name in names:  # an unnamed listener's name is its address: one error is enough
            f.ctx.sink.add(
                f"{path}.name", f"duplicate listener name {listener.name!r} (first in {names[listener.name]})"
            )
        addresses.setdefault(key, path)
        names.setdefault(listener.name, path)


def parse_admin(f: Fields) -> Admin:
    f.unsupported("socket_options", "ignore_global_conn_limit")  # (there is no global connection limit)
    f.string("profile_path")  # for Envoy's /cpuprofiler, which the gateway does not have: accepted, no effect
    return Admin(
        address=f.message("address", parse_address),
        access_log=f.repeated("access_log", parse_access_log),
        access_log_path=f.string("access_log_path"),
    )


def parse_bootstrap_extension(f: Fields) -> BootstrapExtension:
    name = f.string("name", required=True)
    if not f.has("typed_config"):
        f.error("typed_config", "required field missing")
    typed_config = REGISTRY.parse_typed_config(f, Category.BOOTSTRAP_EXTENSION, name)
    if typed_config is None:
        raise Invalid
    return BootstrapExtension(name=name, typed_config=typed_config)
