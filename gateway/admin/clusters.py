"""``/clusters`` in Envoy's ``cluster::host::stat::value`` text form and as ``?format=json`` (Envoy's
``admin.v3.Clusters`` message, printed as protobuf JSON prints it: zero values left out, 64-bit counts as
strings). Circuit breakers show the DEFAULT priority, the only one the cluster view exposes."""

from __future__ import annotations

import json

from gateway.admin.context import AdminContext
from gateway.admin.request import AdminRequest, AdminResponse, json_body, text
from gateway.upstream.api import ClusterView, HostView

_GAUGES = frozenset(("cx_active", "rq_active"))  # the other per-host stats are counters
_THRESHOLDS = ("max_connections", "max_pending_requests", "max_requests", "max_retries")


def clusters(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    fmt = request.query.get("format", "text")
    if fmt == "json":
        doc = {"cluster_statuses": [_cluster_json(cluster) for cluster in ctx.clusters()]}
        return json_body(json.dumps(doc, indent=2))
    if fmt != "text":
        return text(f"invalid format {fmt!r}: use text or json\n", 400)
    return text("".join(line + "\n" for cluster in ctx.clusters() for line in _cluster_text(cluster)))


def _cluster_text(cluster: ClusterView) -> list[str]:
    name = cluster.name
    lines = [f"{name}::observability_name::{name}"]
    thresholds = cluster.circuit_breaker_thresholds()
    lines.extend(f"{name}::default_priority::{key}::{thresholds[key]}" for key in _THRESHOLDS if key in thresholds)
    lines.append(f"{name}::added_via_api::false")
    for host in cluster.hosts():
        prefix = f"{name}::{host.address}::"
        lines.extend(f"{prefix}{stat}::{value}" for stat, value in sorted(host.host_stats().items()))
        lines += [
            f"{prefix}hostname::{host.hostname}",
            f"{prefix}health_flags::{'healthy' if host.healthy else '/failed_active_hc'}",
            f"{prefix}weight::{host.weight}",
            f"{prefix}region::",
            f"{prefix}zone::",
            f"{prefix}sub_zone::",
            f"{prefix}canary::false",
            f"{prefix}priority::{host.priority}",
            f"{prefix}success_rate::-1",
            f"{prefix}local_origin_success_rate::-1",
        ]
    return lines


def _cluster_json(cluster: ClusterView) -> dict[str, object]:
    thresholds = cluster.circuit_breaker_thresholds()
    return {
        "name": cluster.name,
        "observability_name": cluster.name,
        "circuit_breakers": {"thresholds": [{key: thresholds[key] for key in _THRESHOLDS if key in thresholds}]},
        "host_statuses": [_host_json(host) for host in cluster.hosts()],
    }


def _host_json(host: HostView) -> dict[str, object]:
    stats: list[dict[str, object]] = []
    for stat, value in sorted(host.host_stats().items()):
        metric: dict[str, object] = {"name": stat}
        if value:
            metric["value"] = str(value)
        if stat in _GAUGES:
            metric["type"] = "GAUGE"
        stats.append(metric)
    health: dict[str, object] = {"eds_health_status": "HEALTHY"}
    if not host.healthy:
        health["failed_active_health_check"] = True
    status: dict[str, object] = {
        "address": {"socket_address": _socket_address(host.address)},
        "stats": stats,
        "health_status": health,
        "weight": host.weight,
    }
    if host.hostname:
        status["hostname"] = host.hostname
    if host.priority:
        status["priority"] = host.priority
    return status


def _socket_address(address: str) -> dict[str, object]:
    host, _, port = address.rpartition(":")
    return {"address": host.strip("[]"), "port_value": int(port)}
