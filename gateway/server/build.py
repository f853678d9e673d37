"""Turning a loaded Bootstrap into running parts: HCM settings, filter factories, listeners, clusters.

Everything here runs at config time, once; validate mode runs the same code with ``validate_only`` set (no socket
is bound, no DNS is resolved), so a config that validates is one that builds. Faults found here are ConfigErrors
carrying the YAML path of the element that caused them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from abi.plugin import Plugin
from abi.runtime import VmRegistry
from gateway.accesslog import AccessLog, build_access_logs
from gateway.codec import make_client_codec
from gateway.codec.api import CodecLimits
from gateway.config.errors import ErrorSink
from gateway.config.model import Bootstrap, HttpConnectionManager
from gateway.config.model import Listener as ListenerConfig
from gateway.config.model.hcm import ServerHeaderTransformation as ConfigServerHeader
from gateway.core.errors import ConfigError
from gateway.filters.api import FilterFactory
from gateway.filters.registry import FactoryContext, build_filter_factory
from gateway.filters.router import RouteTable
from gateway.filters.wasm.service import close_services, start_services
from gateway.http.connection import Downstream, HttpConnection
from gateway.http.settings import HcmSettings, ServerHeaderTransformation
from gateway.http.stats import HcmStats
from gateway.stats.store import Store
from gateway.upstream.manager import ClusterManagerImpl, build_cluster_manager

_SERVER_HEADER = {
    ConfigServerHeader.OVERWRITE: ServerHeaderTransformation.OVERWRITE,
    ConfigServerHeader.APPEND_IF_ABSENT: ServerHeaderTransformation.APPEND_IF_ABSENT,
    ConfigServerHeader.PASS_THROUGH: ServerHeaderTransformation.PASS_THROUGH,
}

_HCM_PATH = "static_resources.listeners[{i}].filter_chains[0].filters[{j}].typed_config"


@dataclass(frozen=True, slots=True)
class ListenerPlan:
    """A listener ready to bind: where, and what each accepted connection gets."""

    config: ListenerConfig
    host: str
    port: int
    handler_factory: Callable[[Downstream], HttpConnection]


@dataclass(slots=True)
class BuiltServer:
    stats: Store
    cluster_manager: ClusterManagerImpl
    listeners: list[ListenerPlan]
    access_logs: list[AccessLog]
    wasm_plugins: list[Plugin]  # bootstrap services and HTTP filter plugins, closed at shutdown


def build(bootstrap: Bootstrap, loop: asyncio.AbstractEventLoop, http1_codec: str, validate_only: bool) -> BuiltServer:
    """Build every part; raises ConfigErrors listing every fault found."""
    errors = ErrorSink()
    stats = Store()
    cluster_manager = build_cluster_manager(
        bootstrap.static_resources.clusters, stats, loop, codec_factory=lambda: make_client_codec(http1_codec)
    )
    plans: list[ListenerPlan] = []
    wasm_vms = VmRegistry()  # one VM per vm_id and code in this worker, shared by the plugins that name it
    try:
        services = start_services(
            bootstrap.bootstrap_extensions, stats, cluster_manager, loop, bootstrap.node, wasm_vms
        )
    except ConfigError as e:
        errors.errors.append(e)
        services = []
    plugins = list(services)
    access_logs: list[AccessLog] = []
    for i, listener in enumerate(bootstrap.static_resources.listeners):
        for j, network_filter in enumerate(listener.filter_chains[0].filters):
            hcm = network_filter.typed_config
            if not isinstance(hcm, HttpConnectionManager):
                errors.add(
                    f"static_resources.listeners[{i}].filter_chains[0].filters[{j}]",
                    f"network filter {network_filter.name} is not supported yet",
                )
                continue
            path = _HCM_PATH.format(i=i, j=j)
            ctx = FactoryContext(
                stats,
                cluster_manager,
                hcm.stat_prefix,
                loop,
                bootstrap.node,
                wasm_vms,
                validate_only,
                listener.per_connection_buffer_limit_bytes,
                plugins,
            )
            settings = _hcm_settings(hcm, path, ctx, http1_codec, listener, errors, access_logs)
            if settings is not None:
                plans.append(_plan(listener, settings, HcmStats(stats, hcm.stat_prefix)))
    if validate_only or errors.errors:
        close_services(plugins)  # started only to prove they start
    errors.raise_if_any()
    return BuiltServer(stats, cluster_manager, plans, access_logs, plugins)


def _plan(listener: ListenerConfig, settings: HcmSettings, hcm_stats: HcmStats) -> ListenerPlan:
    address = listener.address.socket_address

    def handler_factory(downstream: Downstream) -> HttpConnection:
        return HttpConnection(downstream, settings, hcm_stats)

    return ListenerPlan(listener, address.address, address.port_value, handler_factory)


def _hcm_settings(
    hcm: HttpConnectionManager,
    path: str,
    ctx: FactoryContext,
    http1_codec: str,
    listener: ListenerConfig,
    errors: ErrorSink,
    all_access_logs: list[AccessLog],
) -> HcmSettings | None:
    """The connection manager's settings, or None after adding every fault found to ``errors`` (each part is
    built even when another failed, so validate mode reports them all at once)."""
    faults = len(errors.errors)
    access_logs: list[AccessLog] = []
    table: RouteTable | None = None
    factories: list[FilterFactory] = []
    try:
        access_logs = build_access_logs(hcm.access_log, f"{path}.access_log")
    except ConfigError as e:
        errors.errors.append(e)
    try:
        table = RouteTable(hcm.route_config, f"{path}.route_config")
    except ConfigError as e:
        errors.errors.append(e)
    for k, http_filter in enumerate(hcm.http_filters):
        if http_filter.disabled:
            continue
        try:
            factories.append(build_filter_factory(http_filter, f"{path}.http_filters[{k}]", ctx))
        except ConfigError as e:
            errors.errors.append(e)
    if len(errors.errors) > faults or table is None:
        return None
    all_access_logs.extend(access_logs)
    common = hcm.common_http_protocol_options
    return HcmSettings(
        stat_prefix=hcm.stat_prefix,
        filter_factories=tuple(factories),
        route_resolver=table,
        access_logs=tuple(access_logs),
        codec_backend=http1_codec,
        codec_limits=CodecLimits(max_headers_kb=hcm.max_request_headers_kb, max_headers_count=common.max_headers_count),
        server_name=hcm.server_name.encode(),
        server_header_transformation=_SERVER_HEADER[hcm.server_header_transformation],
        use_remote_address=hcm.use_remote_address,
        xff_num_trusted_hops=hcm.xff_num_trusted_hops,
        skip_xff_append=hcm.skip_xff_append,
        generate_request_id=hcm.generate_request_id,
        preserve_external_request_id=hcm.preserve_external_request_id,
        always_set_request_id_in_response=hcm.always_set_request_id_in_response,
        via=hcm.via.encode(),
        idle_timeout=common.idle_timeout,
        max_connection_duration=common.max_connection_duration,
        request_headers_timeout=hcm.request_headers_timeout,
        request_timeout=hcm.request_timeout,
        stream_idle_timeout=hcm.stream_idle_timeout,
        max_stream_duration=common.max_stream_duration,
        delayed_close_timeout=hcm.delayed_close_timeout,
        buffer_limit=listener.per_connection_buffer_limit_bytes,
        accept_http_10=hcm.http_protocol_options.accept_http_10,
        upgrade_types=frozenset(u.upgrade_type.lower() for u in hcm.upgrade_configs if u.enabled),
    )
