"""Hosts: one upstream endpoint address with its weight, priority, locality, health and per-host counters.

A host is created when discovery first sees its address and lives until discovery drops it; its connection pool
hangs off it (``pool``), so a host kept across a DNS refresh keeps its warm connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.upstream.pool import Http1Pool


class HostStats:
    """Envoy's per-host stats, plain ints: they are shown by ``/clusters``, not in the stats store."""

    __slots__ = (
        "cx_total",
        "cx_active",
        "cx_connect_fail",
        "rq_total",
        "rq_active",
        "rq_error",
        "rq_success",
        "rq_timeout",
    )

    def __init__(self) -> None:
        self.cx_total = 0
        self.cx_active = 0
        self.cx_connect_fail = 0
        self.rq_total = 0
        self.rq_active = 0  # also the least-request balancer's load signal
        self.rq_error = 0
        self.rq_success = 0
        self.rq_timeout = 0  # counted by the router through ``UpstreamStream.record_timeout``

    def as_dict(self) -> dict[str, int]:
        """By Envoy's names, in ``/clusters``' order."""
        return {
            "cx_total": self.cx_total,
            "cx_active": self.cx_active,
            "cx_connect_fail": self.cx_connect_fail,
            "rq_total": self.rq_total,
            "rq_active": self.rq_active,
            "rq_error": self.rq_error,
            "rq_success": self.rq_success,
            "rq_timeout": self.rq_timeout,
        }


class Host:
    """An endpoint (implements ``api.HostView``). ``ip``/``port`` may change for a LOGICAL_DNS host: new
    connections go to the latest address, established ones stay where they are."""

    pool: Http1Pool  # set by the cluster right after construction (the pool needs the host first)

    __slots__ = (
        "ip",
        "port",
        "_address",
        "hostname",
        "weight",
        "priority",
        "locality",
        "healthy",
        "stats",
        "pool",
    )

    def __init__(
        self,
        ip: str,
        port: int,
        *,
        hostname: str = "",
        weight: int = 1,
        priority: int = 0,
        locality: int = 0,
        healthy: bool = True,
    ) -> None:
        self.ip = ip
        self.port = port
        self._address = _format(ip, port)
        self.hostname = hostname
        self.weight = weight
        self.priority = priority
        self.locality = locality  # index of the locality within its priority, for locality-weighted balancing
        self.healthy = healthy
        self.stats = HostStats()

    @property
    def address(self) -> str:
        return self._address

    def set_address(self, ip: str, port: int) -> None:
        self.ip = ip
        self.port = port
        self._address = _format(ip, port)

    def host_stats(self) -> dict[str, int]:
        return self.stats.as_dict()

    def __repr__(self) -> str:
        return f"Host({self._address}, w={self.weight}, p={self.priority}, healthy={self.healthy})"


def _format(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
