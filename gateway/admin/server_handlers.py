"""Endpoints about the server itself: ``/ready``, ``/server_info``, ``/listeners``, ``/config_dump``,
``/healthcheck/fail|ok`` and ``/quitquitquit``."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from gateway.admin.context import AdminContext
from gateway.admin.request import AdminRequest, AdminResponse, json_body, text
from gateway.config.model import Node
from gateway.stats.server import ServerState

_TYPE_PREFIX = "type.googleapis.com/"


def effective_state(ctx: AdminContext) -> ServerState:
    """A failed health check makes a live server report DRAINING (Envoy's ``serverState``)."""
    state = ctx.state
    return ServerState.DRAINING if state is ServerState.LIVE and ctx.health_check_failed else state


def ready(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    state = effective_state(ctx)
    return text(f"{state.name}\n", 200 if state is ServerState.LIVE else 503)


def server_info(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    uptime = f"{max(0, int(time.time() - ctx.start_time))}s"
    doc = {
        "version": ctx.version,
        "state": effective_state(ctx).name,
        "hot_restart_version": "disabled",
        "command_line_options": dict(ctx.command_line_options),
        "node": node_json(ctx.node),
        "uptime_current_epoch": uptime,
        "uptime_all_epochs": uptime,  # no hot restart: one epoch
    }
    return json_body(json.dumps(doc, indent=2))


def node_json(node: Node) -> dict[str, object]:
    """``config.core.v3.Node`` as protobuf JSON prints it: fields left at their defaults are omitted."""
    doc: dict[str, object] = {}
    for key in ("id", "cluster", "user_agent_name", "user_agent_version"):
        if value := getattr(node, key):
            doc[key] = value
    if node.metadata:
        doc["metadata"] = dict(node.metadata)
    if node.locality is not None:
        locality = {k: getattr(node.locality, k) for k in ("region", "zone", "sub_zone")}
        doc["locality"] = {k: v for k, v in locality.items() if v}
    if node.client_features:
        doc["client_features"] = list(node.client_features)
    return doc


def listeners(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    fmt = request.query.get("format", "text")
    if fmt == "json":
        statuses = [
            {"name": info.name, "local_address": {"socket_address": {"address": host, "port_value": port}}}
            for info in ctx.listeners()
            for host, port in (info.address,)
        ]
        return json_body(json.dumps({"listener_statuses": statuses}, indent=2))
    if fmt != "text":
        return text(f"invalid format {fmt!r}: use text or json\n", 400)
    return text("".join(f"{info.name}::{_host_port(info.address)}\n" for info in ctx.listeners()))


def _host_port(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def config_dump(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    """Envoy's dump shape: the bootstrap as loaded, then its static clusters and listeners."""
    raw = ctx.raw_config
    updated = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.start_time))
    static = raw.get("static_resources")
    resources: Mapping[str, object] = static if isinstance(static, Mapping) else {}
    configs = [
        {"@type": _TYPE_PREFIX + "envoy.admin.v3.BootstrapConfigDump", "bootstrap": raw, "last_updated": updated},
        {
            "@type": _TYPE_PREFIX + "envoy.admin.v3.ClustersConfigDump",
            "static_clusters": _static(resources, "clusters", "cluster", "envoy.config.cluster.v3.Cluster", updated),
        },
        {
            "@type": _TYPE_PREFIX + "envoy.admin.v3.ListenersConfigDump",
            "static_listeners": _static(
                resources, "listeners", "listener", "envoy.config.listener.v3.Listener", updated
            ),
        },
    ]
    # default=str: YAML may carry values JSON has no type for (dates); show them rather than fail the dump.
    return json_body(json.dumps({"configs": configs}, indent=2, default=str))


def _static(
    resources: Mapping[str, object], key: str, field: str, type_name: str, updated: str
) -> list[dict[str, object]]:
    items = resources.get(key)
    if not isinstance(items, list):
        return []
    return [
        {field: {"@type": _TYPE_PREFIX + type_name, **item}, "last_updated": updated}
        for item in items
        if isinstance(item, Mapping)
    ]


def healthcheck_fail(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    ctx.set_health_check_failed(True)
    return text("OK\n")


def healthcheck_ok(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    ctx.set_health_check_failed(False)
    return text("OK\n")


def quitquitquit(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    response = text("OK\n")
    response.after = ctx.quit
    return response
