"""The contract between the router and the upstream side (cluster manager, clusters, pools).

The router asks a cluster for a stream: ``Cluster.new_stream(callbacks, lb_context)``. The cluster picks a host
with its load balancer, checks its circuit breakers, takes a connection from the host's pool (opening one when
needed, within ``connect_timeout``), and then calls exactly one of ``callbacks.on_pool_ready(stream)`` or
``callbacks.on_pool_failure(...)`` — possibly synchronously, before ``new_stream`` returns. The response then
arrives through the other ``on_upstream_*`` callbacks. The returned handle cancels a request still waiting
for a connection.
"""

from __future__ import annotations

from typing import Protocol

from mypy_extensions import mypyc_attr

from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap


class LoadBalancerContext:
    """Per-request inputs to host selection (hash keys come with consistent-hash policies later). A plain class:
    a dataclass's generated ``__init__`` would stay interpreted Python in the compiled build."""

    __slots__ = ("downstream_address", "hash_key")

    def __init__(self, hash_key: int | None = None, downstream_address: str = "") -> None:
        self.hash_key = hash_key
        self.downstream_address = downstream_address


@mypyc_attr(allow_interpreted_subclasses=True)  # the pool's streams implement it; test stand-ins too
class UpstreamStream:
    """One request on an upstream connection, given by the pool once a connection is ready.

    A base class rather than a Protocol, as ``Cluster`` below: the router's calls on it are then direct rather
    than generic Python method calls. Implementations set the addresses and override every method.
    """

    __slots__ = ("host_address", "local_address")

    host_address: str  # ``ip:port`` of the host serving this stream (``%UPSTREAM_HOST%``)
    local_address: str

    @property
    def hostname(self) -> str:
        """The host's name (the endpoint's ``hostname``, or the DNS name it was resolved from); may be empty."""
        raise NotImplementedError

    def send_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        raise NotImplementedError

    def send_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        raise NotImplementedError

    def send_trailers(self, trailers: HeaderMap) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Abandon the stream; its connection is closed rather than reused."""
        raise NotImplementedError

    def read_disable(self, disabled: bool) -> None:
        """Stop/resume reading the response (backpressure from a slow downstream). Counted, as Envoy's
        readDisable: each ``True`` needs its ``False``."""
        raise NotImplementedError

    def record_timeout(self) -> None:
        """The router's (per-try) timeout fired for this stream: counts the host's ``rq_timeout``. Call it
        before ``reset()``."""
        raise NotImplementedError


class UpstreamCallbacks(Protocol):
    """Implemented by the router's upstream request."""

    def on_pool_ready(self, stream: UpstreamStream) -> None: ...

    def on_pool_failure(self, reason: ResetReason, flag: ResponseFlag, detail: str, host_address: str) -> None:
        """No stream could be had:
        - UO: ``OVERFLOW`` (max_pending_requests or max_requests);
        - UF: ``CONNECTION_FAILURE`` (refused, reset during the handshake) or ``CONNECTION_TIMEOUT``;
        - UH: ``CONNECTION_FAILURE`` with detail ``no_healthy_upstream`` and no host address;
        - LR: ``LOCAL_RESET`` when the cluster manager shuts down.
        ``detail`` is otherwise a transport failure reason, empty for plain TCP (so the router's body is Envoy's
        "upstream connect error or disconnect/reset before headers. reset reason: <reason.value>")."""
        ...

    def on_upstream_1xx_headers(self, headers: HeaderMap) -> None: ...

    def on_upstream_headers(self, headers: HeaderMap, end_stream: bool) -> None: ...

    def on_upstream_data(self, data: bytes, end_stream: bool) -> None: ...

    def on_upstream_trailers(self, trailers: HeaderMap) -> None: ...

    def on_upstream_reset(self, reason: ResetReason, detail: str) -> None:
        """The stream failed after it was handed out (connection closed or reset mid-response)."""
        ...

    def on_upstream_above_write_buffer_high_watermark(self) -> None:
        """The upstream connection's write buffer is full: stop reading the downstream body."""
        ...

    def on_upstream_below_write_buffer_low_watermark(self) -> None: ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


@mypyc_attr(allow_interpreted_subclasses=True)
class Cluster:
    """What the router asks of a cluster. Implementations set the names and override every method."""

    __slots__ = ("name", "stat_name")

    name: str
    stat_name: str  # the name its stats go under, ``cluster.<stat_name>.``: ``alt_stat_name`` when set, else ``name``

    def new_stream(self, callbacks: UpstreamCallbacks, lb_context: LoadBalancerContext) -> Cancellable | None:
        """Start acquiring a stream; None when the callbacks were already called (ready or failed)."""
        raise NotImplementedError

    def try_acquire_retry(self) -> bool:
        """Take a slot of the max_retries circuit breaker before retrying; False when none is left (counted as
        ``upstream_rq_retry_overflow``): do not retry. Each True is paired with one ``release_retry()``."""
        raise NotImplementedError

    def release_retry(self) -> None:
        """The retry that held a slot has ended (its stream finished, failed or was reset)."""
        raise NotImplementedError


class ClusterManager(Protocol):
    def get(self, name: str) -> Cluster | None: ...

    def all_clusters(self) -> list[ClusterView]:
        """Every cluster, in config order, for the admin."""
        ...


class HostView(Protocol):
    """A host as the admin's ``/clusters`` shows it."""

    @property
    def address(self) -> str:
        """``ip:port``."""
        ...

    @property
    def hostname(self) -> str: ...

    @property
    def weight(self) -> int: ...

    @property
    def priority(self) -> int: ...

    @property
    def healthy(self) -> bool: ...

    def host_stats(self) -> dict[str, int]:
        """Envoy's per-host stats: cx_total, cx_active, cx_connect_fail, rq_total, rq_active, rq_error,
        rq_success, rq_timeout."""
        ...


class ClusterView(Protocol):
    """A cluster as the admin shows it."""

    @property
    def name(self) -> str: ...

    def hosts(self) -> list[HostView]: ...

    def circuit_breaker_thresholds(self) -> dict[str, int]:
        """max_connections, max_pending_requests, max_requests, max_retries of the DEFAULT priority."""
        ...
