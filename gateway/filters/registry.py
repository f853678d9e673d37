"""HTTP filter factories by config type: the config loader has already picked the dataclass from the filter's
type URL (or name); here each dataclass gets the builder of its filter, run once at config time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from abi.plugin import Plugin
from abi.runtime import VmRegistry
from gateway.config.model import HttpFilter as HttpFilterConfig
from gateway.config.model import Node, Router, Wasm
from gateway.core.errors import ConfigError
from gateway.filters.api import FilterFactory
from gateway.stats.store import Store
from gateway.upstream.api import ClusterManager


@dataclass(slots=True)
class FactoryContext:
    """Shared services a filter's factory may keep for its streams."""

    stats: Store
    cluster_manager: ClusterManager
    stat_prefix: str
    loop: asyncio.AbstractEventLoop
    node: Node
    wasm_vms: VmRegistry
    validate_only: bool
    buffer_limit: int  # the listener's per_connection_buffer_limit_bytes: what a filter may hold of a body
    plugins: list[Plugin]  # every Wasm plugin started, closed (proxy_on_done) when the server stops


Builder = Callable[[object, str, FactoryContext], FilterFactory]


def _router(config: object, path: str, ctx: FactoryContext) -> FilterFactory:
    from gateway.filters.router.filter import RouterFactory

    assert isinstance(config, Router)
    return RouterFactory(config, ctx.cluster_manager, ctx.stats, ctx.stat_prefix)


def _wasm(config: object, path: str, ctx: FactoryContext) -> FilterFactory:
    from gateway.filters.wasm.factory import wasm_filter_factory

    assert isinstance(config, Wasm)
    return wasm_filter_factory(
        config,
        path,
        ctx.stats,
        ctx.cluster_manager,
        ctx.loop,
        ctx.node,
        ctx.wasm_vms,
        ctx.validate_only,
        ctx.buffer_limit,
        ctx.plugins,
    )


_BUILDERS: dict[type, Builder] = {Router: _router, Wasm: _wasm}


def build_filter_factory(config: HttpFilterConfig, path: str, ctx: FactoryContext) -> FilterFactory:
    builder = _BUILDERS.get(type(config.typed_config))
    if builder is None:
        raise ConfigError(path, f"HTTP filter {config.name} is not supported")
    return builder(config.typed_config, f"{path}.typed_config", ctx)
