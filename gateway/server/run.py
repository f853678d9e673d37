"""``--mode serve``: the process lifecycle.

start: load config -> build (clusters, filter factories, route tables) -> bind listeners -> resolve DNS -> serve.
stop (SIGTERM, SIGINT or POST /quitquitquit): stop accepting, ask every connection to finish its exchange and
close (``connection: close``), wait up to ``--drain-time-s`` for them, close what is left, flush access logs,
exit 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Mapping, Sequence

import uvloop

from gateway import __version__, native
from gateway.accesslog import close_all, reopen_all
from gateway.admin import AdminServer, ListenerInfo, build_admin_access_logs
from gateway.codec import make_server_codec
from gateway.config import load_bootstrap
from gateway.config.errors import ConfigErrors
from gateway.config.model import Bootstrap, Node
from gateway.filters.wasm.service import close_services
from gateway.net.connection import DownstreamConnection
from gateway.net.listener import Listener, bind_socket
from gateway.server.build import BuiltServer, build
from gateway.server.options import ServerOptions
from gateway.stats.server import ServerState, ServerStats
from gateway.stats.store import Store
from gateway.upstream.api import ClusterView

log = logging.getLogger("gateway.server")


class CountedConnections(set[DownstreamConnection]):
    """A listener's live connections, counted under Envoy's ``listener.<address>.`` stats."""

    def __init__(self, stats: Store, address: tuple[str, int]) -> None:
        super().__init__()
        host = f"[{address[0]}]".replace(":", "_") if ":" in address[0] else address[0]
        scope = stats.scope(f"listener.{host}_{address[1]}.")
        self._total = scope.counter("downstream_cx_total")
        self._active = scope.gauge("downstream_cx_active")
        self._destroy = scope.counter("downstream_cx_destroy")

    def add(self, connection: DownstreamConnection) -> None:
        super().add(connection)
        self._total.inc()
        self._active.inc()

    def discard(self, connection: object) -> None:
        if connection in self:
            super().discard(connection)
            self._active.dec()
            self._destroy.inc()


class Server:
    """One worker: its listeners, clusters and admin. It is the admin's ``AdminContext``."""

    def __init__(self, bootstrap: Bootstrap, options: ServerOptions) -> None:
        self.bootstrap = bootstrap
        self.options = options
        self._start_time = time.time()
        self._state = ServerState.PRE_INITIALIZING
        self._health_check_failed = False
        self._listeners: list[Listener] = []
        self.built: BuiltServer | None = None
        self.admin: AdminServer | None = None
        self._server_stats: ServerStats | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.built = build(self.bootstrap, loop, self.options.http1_codec, validate_only=False)
        self._server_stats = ServerStats(self.built.stats, self._start_time)
        admin_address = self.bootstrap.admin.address
        if admin_address is not None:
            codec = self.options.http1_codec
            self.admin = AdminServer(
                self, build_admin_access_logs(self.bootstrap.admin), codec_factory=lambda: make_server_codec(codec)
            )
            host, port = await self.admin.start(
                admin_address.socket_address.address, admin_address.socket_address.port_value
            )
            log.info("admin on %s:%d", host, port)
        for plan in self.built.listeners:
            sock = bind_socket(
                plan.host,
                plan.port,
                backlog=plan.config.tcp_backlog_size,
                reuse_port=plan.config.enable_reuse_port,
                ipv4_compat=plan.config.address.socket_address.ipv4_compat,
            )
            listener = Listener(
                plan.config.name,
                sock,
                plan.handler_factory,
                plan.config.per_connection_buffer_limit_bytes,
                connections=CountedConnections(self.built.stats, sock.getsockname()),
            )
            self._listeners.append(listener)
        await self.built.cluster_manager.start()
        for listener in self._listeners:
            await listener.start()
            host, port = listener.address
            log.info("listener %s on %s:%d", listener.name, host, port)
        self._log_native()
        # What start-up built lives as long as the process: keep it out of every later collection's walk.
        gc.collect()
        gc.freeze()
        self._set_state(ServerState.LIVE)

    @staticmethod
    def _log_native() -> None:
        if native.active:
            log.info("per-request modules compiled (mypyc), Wasm calls cross in C")
        elif native.status.startswith("disabled"):
            log.info("per-request modules run as plain Python: %s", native.status)
        else:
            log.warning("per-request modules run as plain Python, about half as fast: %s", native.status)

    def _set_state(self, state: ServerState) -> None:
        self._state = state
        if self._server_stats is not None:
            self._server_stats.set_state(state)

    def request_stop(self) -> None:
        """Begin draining; ``run`` returns once it is done."""
        if not self._stop.is_set():
            log.info("shutting down: draining for up to %.1fs", self.options.drain_time_s)
            self._set_state(ServerState.DRAINING)
            self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()
        await self._drain()

    async def _drain(self) -> None:
        for listener in self._listeners:
            listener.stop_accepting()
            for conn in list(listener.connections):
                if conn.handler is not None:
                    conn.handler.start_drain()
        deadline = time.monotonic() + self.options.drain_time_s
        while time.monotonic() < deadline and any(listener.connections for listener in self._listeners):
            await asyncio.sleep(0.05)
        await self.close()

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        if self.admin is not None:
            await self.admin.stop()
        if self.built is not None:
            await self.built.cluster_manager.close()
            close_all(self.built.access_logs)
            close_services(self.built.wasm_plugins)

    # -- AdminContext --
    @property
    def stats(self) -> Store:
        assert self.built is not None
        return self.built.stats

    def refresh_stats(self) -> None:
        if self._server_stats is not None:
            self._server_stats.refresh()

    def clusters(self) -> Sequence[ClusterView]:
        return self.built.cluster_manager.all_clusters() if self.built is not None else []

    def listeners(self) -> Sequence[ListenerInfo]:
        return [ListenerInfo(listener.name, listener.address) for listener in self._listeners]

    @property
    def raw_config(self) -> Mapping[str, object]:
        return self.bootstrap.raw

    @property
    def node(self) -> Node:
        return self.bootstrap.node

    @property
    def version(self) -> str:
        return f"gateway/{__version__}"

    @property
    def start_time(self) -> float:
        return self._start_time

    @property
    def state(self) -> ServerState:
        return ServerState.DRAINING if self._health_check_failed else self._state

    @property
    def command_line_options(self) -> Mapping[str, object]:
        options = self.options
        return {
            "config_path": options.config_path or "",
            "config_yaml": options.config_yaml or "",
            "log_level": options.log_level,
            "drain_time": f"{options.drain_time_s}s",
            "concurrency": 1,
            "mode": "Serve",
            "http1_codec": options.http1_codec,
        }

    @property
    def health_check_failed(self) -> bool:
        return self._health_check_failed

    def set_health_check_failed(self, failed: bool) -> None:
        self._health_check_failed = failed

    def quit(self) -> None:
        self.request_stop()

    def reopen_access_logs(self) -> None:
        """SIGUSR1, as Envoy: reopen every access log file (after log rotation moved them)."""
        if self.built is not None:
            reopen_all(self.built.access_logs)
        if self.admin is not None:
            reopen_all(self.admin.access_logs)


async def _serve(options: ServerOptions) -> int:
    try:
        bootstrap = load_bootstrap(options.config_path, options.config_yaml)
        server = Server(bootstrap, options)
        await server.start()
    except ConfigErrors as e:
        for error in e.errors:
            log.error("config: %s", error)
        return 1
    except OSError as e:
        log.error("cannot start: %s", e)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_stop)
    loop.add_signal_handler(signal.SIGUSR1, server.reopen_access_logs)
    await server.wait_stopped()
    log.info("exited cleanly")
    return 0


def serve(options: ServerOptions) -> int:
    try:
        return uvloop.run(_serve(options))
    except KeyboardInterrupt:
        return 0
    finally:
        sys.stderr.flush()
