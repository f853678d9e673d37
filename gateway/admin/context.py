"""What the admin needs from the running server. The server implements ``AdminContext``; the admin never reaches
into the server otherwise, so every endpoint can be tested against a small fake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.config.model import Node
from gateway.stats.server import ServerState
from gateway.stats.store import Store
from gateway.upstream.api import ClusterView


@dataclass(frozen=True, slots=True)
class ListenerInfo:
    """A listener as ``/listeners`` shows it: its config name and the address it is bound to."""

    name: str
    address: tuple[str, int]


class AdminContext(Protocol):
    @property
    def stats(self) -> Store: ...

    def refresh_stats(self) -> None:
        """Bring gauges computed on demand (``server.uptime``, memory) up to date before a stats render."""
        ...

    def clusters(self) -> Sequence[ClusterView]: ...

    def listeners(self) -> Sequence[ListenerInfo]: ...

    @property
    def raw_config(self) -> Mapping[str, object]:
        """The merged config document as loaded (``Bootstrap.raw``)."""
        ...

    @property
    def node(self) -> Node: ...

    @property
    def version(self) -> str: ...

    @property
    def start_time(self) -> float:
        """Wall-clock seconds when this process started (also when its config was loaded)."""
        ...

    @property
    def state(self) -> ServerState:
        """Lifecycle state; the admin reports DRAINING while the health check is failed, as Envoy does."""
        ...

    @property
    def command_line_options(self) -> Mapping[str, object]:
        """``/server_info``'s ``command_line_options`` (Envoy's field names: config_path, log_level, mode...)."""
        ...

    @property
    def health_check_failed(self) -> bool: ...

    def set_health_check_failed(self, failed: bool) -> None:
        """``/healthcheck/fail`` and ``/healthcheck/ok``; the connection manager's health checks read the flag."""
        ...

    def quit(self) -> None:
        """``/quitquitquit``: begin a graceful shutdown (called after the response is on its way)."""
        ...
