"""``--mode serve``: the process lifecycle.

start: load config -> build (clusters, filter factories, route tables) -> bind listeners -> resolve DNS -> serve.
stop (SIGTERM, SIGINT or POST /quitquitquit): stop accepting, ask every connection to finish its exchange and
close (``connection: close``), wait up to ``--drain-time-s`` for them, close what is left, flush access logs,
exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time

import uvloop

from gateway.accesslog import close_all
from gateway.config import load_bootstrap
from gateway.config.errors import ConfigErrors
from gateway.config.model import Bootstrap
from gateway.net.listener import Listener, bind_socket
from gateway.server.build import BuiltServer, build
from gateway.server.options import ServerOptions

log = logging.getLogger("gateway.server")


class Server:
    """One worker: its listeners, clusters and admin, and the state the admin reports."""

    def __init__(self, bootstrap: Bootstrap, options: ServerOptions) -> None:
        self.bootstrap = bootstrap
        self.options = options
        self.started_at = time.time()
        self.state = "PRE_INITIALIZING"
        self.health_failed = False
        self.listeners: list[Listener] = []
        self.built: BuiltServer | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.built = build(self.bootstrap, loop, self.options.http1_codec, validate_only=False)
        for plan in self.built.listeners:
            sock = bind_socket(
                plan.host, plan.port, backlog=plan.config.tcp_backlog_size, reuse_port=plan.config.enable_reuse_port
            )
            listener = Listener(
                plan.config.name, sock, plan.handler_factory, plan.config.per_connection_buffer_limit_bytes
            )
            self.listeners.append(listener)
        await self.built.cluster_manager.start()
        for listener in self.listeners:
            await listener.start()
            host, port = listener.address
            log.info("listener %s on %s:%d", listener.name, host, port)
        self.state = "LIVE"

    def request_stop(self) -> None:
        """Begin draining; ``run`` returns once it is done."""
        if not self._stop.is_set():
            log.info("shutting down: draining for up to %.1fs", self.options.drain_time_s)
            self.state = "DRAINING"
            self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()
        await self._drain()

    async def _drain(self) -> None:
        for listener in self.listeners:
            listener.stop_accepting()
            for conn in list(listener.connections):
                if conn.handler is not None:
                    conn.handler.start_drain()
        deadline = time.monotonic() + self.options.drain_time_s
        while time.monotonic() < deadline and any(listener.connections for listener in self.listeners):
            await asyncio.sleep(0.05)
        await self.close()

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.close()
        if self.built is not None:
            await self.built.cluster_manager.close()
            close_all(self.built.access_logs)


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
