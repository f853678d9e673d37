"""``config.cluster.v3.Cluster`` with its endpoints (``config.endpoint.v3``) and circuit breakers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from gateway.config.model.core import (
    Address,
    HttpProtocolOptions,
    Locality,
    RoutingPriority,
)


class DiscoveryType(Enum):
    STATIC = 0
    STRICT_DNS = 1
    LOGICAL_DNS = 2
    EDS = 3  # rejected at load: not supported
    ORIGINAL_DST = 4  # rejected at load: not supported


class LbPolicy(Enum):
    ROUND_ROBIN = 0
    LEAST_REQUEST = 1
    RING_HASH = 2  # rejected at load: not supported
    RANDOM = 3
    MAGLEV = 5  # rejected at load: not supported
    CLUSTER_PROVIDED = 6  # rejected at load: not supported
    LOAD_BALANCING_POLICY_CONFIG = 7  # rejected at load: not supported


class DnsLookupFamily(Enum):
    AUTO = 0
    V4_ONLY = 1
    V6_ONLY = 2
    V4_PREFERRED = 3
    ALL = 4


class HealthStatus(Enum):
    UNKNOWN = 0
    HEALTHY = 1
    UNHEALTHY = 2
    DRAINING = 3
    TIMEOUT = 4
    DEGRADED = 5


@dataclass(frozen=True, slots=True)
class Endpoint:
    """``endpoint.v3.Endpoint``. For STATIC clusters the address is an IP literal (checked at load); for the DNS
    types it is a name resolved by the cluster, never by the loader."""

    address: Address
    hostname: str = ""


@dataclass(frozen=True, slots=True)
class LbEndpoint:
    endpoint: Endpoint
    health_status: HealthStatus = HealthStatus.UNKNOWN
    load_balancing_weight: int = 1


@dataclass(frozen=True, slots=True)
class LocalityLbEndpoints:
    """``endpoint.v3.LocalityLbEndpoints``; ``load_balancing_weight`` None when unset (only used by
    locality-weighted balancing)."""

    lb_endpoints: tuple[LbEndpoint, ...] = ()
    locality: Locality | None = None
    load_balancing_weight: int | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class ClusterLoadAssignment:
    cluster_name: str
    endpoints: tuple[LocalityLbEndpoints, ...] = ()


@dataclass(frozen=True, slots=True)
class Thresholds:
    """``CircuitBreakers.Thresholds`` with Envoy's defaults (``max_connection_pools`` is refused: unlimited)."""

    priority: RoutingPriority = RoutingPriority.DEFAULT
    max_connections: int = 1024
    max_pending_requests: int = 1024
    max_requests: int = 1024
    max_retries: int = 3
    track_remaining: bool = False


@dataclass(frozen=True, slots=True)
class CircuitBreakers:
    thresholds: tuple[Thresholds, ...] = ()

    def for_priority(self, priority: RoutingPriority) -> Thresholds:
        """The thresholds of ``priority``: the configured ones, else Envoy's defaults."""
        for t in self.thresholds:
            if t.priority is priority:
                return t
        return Thresholds(priority=priority)


@dataclass(frozen=True, slots=True)
class UpstreamHttpProtocolOptions:
    """``envoy.extensions.upstreams.http.v3.HttpProtocolOptions`` (renamed here: ``core.HttpProtocolOptions``
    is another message), a cluster's ``typed_extension_protocol_options`` entry of that name. Upstreams are always
    HTTP/1.1: ``explicit_http_config`` is checked but not kept."""

    common_http_protocol_options: HttpProtocolOptions = field(default_factory=HttpProtocolOptions)


UPSTREAM_HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


@dataclass(frozen=True, slots=True)
class LeastRequestLbConfig:
    choice_count: int = 2


@dataclass(frozen=True, slots=True)
class Cluster:
    """``cluster.v3.Cluster``. Durations in seconds; ``dns_refresh_rate`` only matters for the DNS types.

    ``http_options`` is not an Envoy field: it is the effective ``UpstreamHttpProtocolOptions`` that pools read,
    taken from ``typed_extension_protocol_options`` (the only supported entry) with the deprecated cluster fields
    ``common_http_protocol_options``, ``http_protocol_options`` and ``max_requests_per_connection`` folded in.
    """

    name: str
    type: DiscoveryType = DiscoveryType.STATIC
    alt_stat_name: str = ""
    connect_timeout: float = 5.0
    per_connection_buffer_limit_bytes: int = 1024 * 1024
    lb_policy: LbPolicy = LbPolicy.ROUND_ROBIN
    least_request_lb_config: LeastRequestLbConfig = field(default_factory=LeastRequestLbConfig)
    load_assignment: ClusterLoadAssignment | None = None
    circuit_breakers: CircuitBreakers = field(default_factory=CircuitBreakers)
    http_options: UpstreamHttpProtocolOptions = field(default_factory=UpstreamHttpProtocolOptions)
    dns_refresh_rate: float = 5.0
    dns_lookup_family: DnsLookupFamily = DnsLookupFamily.AUTO
