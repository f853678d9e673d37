"""``envoy.bootstrap.wasm``: Wasm services, plugins with only a root context, for background work (tick timers,
shared-queue consumers, shared data other plugins read).

Each one is started with the server (the same checks as an HTTP plugin: a module that fails to load or a root that
refuses its configuration is a config error with its YAML path) and closed at shutdown (``proxy_on_done``, then
``proxy_on_delete``). Our one worker makes ``singleton`` and per-worker services the same thing. A service shares
its ``vm_id``'s shared data and queues with every HTTP plugin of that ``vm_id``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from abi.plugin import Plugin
from abi.runtime import VmRegistry
from gateway.config.model import BootstrapExtension, Node, WasmService
from gateway.core.errors import ConfigError
from gateway.filters.wasm.factory import plugin_name, start_plugin
from gateway.filters.wasm.host import GatewayPluginHost
from gateway.stats.store import Store
from gateway.upstream.api import ClusterManager


def start_services(
    extensions: Sequence[BootstrapExtension],
    stats: Store,
    cluster_manager: ClusterManager,
    loop: asyncio.AbstractEventLoop,
    node: Node,
    registry: VmRegistry,
) -> list[Plugin]:
    """Start every Wasm service; on a config error the ones already started are closed again."""
    services: list[Plugin] = []
    try:
        for i, extension in enumerate(extensions):
            service = extension.typed_config
            path = f"bootstrap_extensions[{i}]"
            if not isinstance(service, WasmService):
                raise ConfigError(path, f"bootstrap extension {extension.name} is not supported")
            model = service.config
            host = GatewayPluginHost(plugin_name(model), loop, stats, cluster_manager, node)
            services.append(start_plugin(model, f"{path}.typed_config.config", host, registry))
    except ConfigError:
        close_services(services)
        raise
    return services


def close_services(services: Sequence[Plugin]) -> None:
    for service in services:
        service.close()
