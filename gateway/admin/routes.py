"""The admin endpoint table and dispatch: unknown paths get 404 with the help text, and a GET to an endpoint that
changes state gets 405, as Envoy answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.admin import clusters, server_handlers, stats_handlers
from gateway.admin.context import AdminContext
from gateway.admin.logging_levels import logging_handler
from gateway.admin.request import AdminRequest, AdminResponse, text

Handler = Callable[[AdminContext, AdminRequest], AdminResponse]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    help: str
    handler: Handler
    post_only: bool = False


def _help(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    return text(HELP)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/", "Admin home page (this list)", _help),
    Endpoint("/clusters", "upstream cluster status (?format=json)", clusters.clusters),
    Endpoint("/config_dump", "dump current Envoy configs", server_handlers.config_dump),
    Endpoint("/healthcheck/fail", "cause the server to fail health checks", server_handlers.healthcheck_fail, True),
    Endpoint("/healthcheck/ok", "cause the server to pass health checks", server_handlers.healthcheck_ok, True),
    Endpoint("/help", "print out list of admin commands", _help),
    Endpoint("/listeners", "print listener info (?format=json)", server_handlers.listeners),
    Endpoint("/logging", "query/change logging levels (POST ?level=, ?paths=, ?<logger>=)", logging_handler),
    Endpoint("/quitquitquit", "exit the server", server_handlers.quitquitquit, True),
    Endpoint("/ready", "print server state, return 200 if LIVE, otherwise return 503", server_handlers.ready),
    Endpoint("/server_info", "print server version/status information", server_handlers.server_info),
    Endpoint(
        "/stats", "print server stats (?filter=<regex>, ?usedonly, ?format=json|prometheus)", stats_handlers.stats
    ),
    Endpoint("/stats/prometheus", "print server stats in prometheus format", stats_handlers.prometheus),
)

HELP = "admin commands are:\n" + "".join(f"  {e.path}: {e.help}\n" for e in ENDPOINTS)

_BY_PATH = {endpoint.path: endpoint for endpoint in ENDPOINTS}


def dispatch(ctx: AdminContext, request: AdminRequest) -> AdminResponse:
    endpoint = _BY_PATH.get(request.path)
    if endpoint is None:
        return text("invalid path. " + HELP, 404)
    if endpoint.post_only and request.method != "POST":
        return text(f"Method {request.method} not allowed, POST required.\n", 405)
    return endpoint.handler(ctx, request)
