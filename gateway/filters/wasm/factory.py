"""``envoy.filters.http.wasm`` at config time: read the code, compile (disk-cached), start and configure the
plugin, and return the per-stream filter factory. A plugin that fails to load, links an unknown import, traps
while starting or refuses its configuration is a config error naming the plugin and the cause."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from abi.errors import PluginLoadError
from abi.limits import DEFAULT_LIMITS, Limits
from abi.plugin import Plugin, PluginConfig
from abi.runtime import VmRegistry, load_module
from abi.types import FailurePolicy
from gateway.config.model import DataSource, Node, Wasm
from gateway.config.model import PluginConfig as PluginConfigModel
from gateway.core.errors import ConfigError
from gateway.filters.api import FilterFactory
from gateway.filters.wasm.filter import WasmFilterFactory
from gateway.filters.wasm.host import GatewayPluginHost
from gateway.stats.store import Store
from gateway.upstream.api import ClusterManager


def read_code(code: DataSource, path: str) -> bytes:
    """The module bytes from ``vm_config.code.local``; ``path`` is that field's YAML path."""
    if code.inline_bytes is not None:
        return code.inline_bytes
    if code.inline_string is not None:
        return code.inline_string.encode()
    if code.filename is not None:
        try:
            return Path(code.filename).read_bytes()
        except OSError as e:
            raise ConfigError(f"{path}.filename", f"cannot read Wasm module: {e.strerror}: {code.filename}") from None
    if code.environment_variable is not None:
        value = os.environ.get(code.environment_variable)
        if value is None:
            raise ConfigError(f"{path}.environment_variable", f"{code.environment_variable} is not set")
        return value.encode()
    raise ConfigError(path, "no code given")


def plugin_name(model: PluginConfigModel) -> str:
    """The name in logs and stats (``wasm.<name>.*``): Envoy's ``name``, else the root id."""
    return model.name or model.root_id or "unnamed"


def plugin_config(model: PluginConfigModel, limits: Limits = DEFAULT_LIMITS) -> PluginConfig:
    env_vars = model.vm_config.environment_variables
    environment = {key: os.environ[key] for key in env_vars.host_env_keys if key in os.environ}
    environment.update(env_vars.key_values)
    return PluginConfig(
        name=plugin_name(model),
        root_id=model.root_id,
        vm_id=model.vm_config.vm_id,
        configuration=model.configuration,
        vm_configuration=model.vm_config.configuration,
        environment=environment,
        failure_policy=FailurePolicy(model.effective_failure_policy.value),
        limits=limits,
    )


def start_plugin(
    model: PluginConfigModel,
    path: str,
    host: GatewayPluginHost,
    registry: VmRegistry,
    limits: Limits = DEFAULT_LIMITS,
) -> Plugin:
    """Compile and start one plugin; ``path`` is the YAML path of the PluginConfig."""
    code = read_code(model.vm_config.code, f"{path}.vm_config.code.local")
    try:
        module = load_module(code, plugin_name(model))
        return Plugin(module, plugin_config(model, limits), host, registry)
    except PluginLoadError as e:
        raise ConfigError(path, str(e)) from None


def wasm_filter_factory(
    config: Wasm,
    path: str,
    stats: Store,
    cluster_manager: ClusterManager,
    loop: asyncio.AbstractEventLoop,
    node: Node,
    registry: VmRegistry,
    validate_only: bool,
    buffer_limit: int,
    started: list[Plugin],
) -> FilterFactory:
    """The filter factory of one plugin; the plugin joins ``started`` (the server closes them at shutdown), or, in
    validate mode, is closed at once."""
    model = config.config
    host = GatewayPluginHost(plugin_name(model), loop, stats, cluster_manager, node)
    # A body the plugin holds counts against the listener's buffer limit, as Envoy's filter manager buffers it.
    limits = replace(DEFAULT_LIMITS, max_buffer_bytes=buffer_limit)
    plugin = start_plugin(model, f"{path}.config", host, registry, limits)
    if validate_only:
        # The throwaway VM proved the plugin starts and accepts its configuration; nothing will serve.
        plugin.close()
    else:
        started.append(plugin)
    return WasmFilterFactory(plugin)
