"""``envoy.filters.http.router``: ``extensions.filters.http.router.v3.Router``."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.model.access_log import AccessLog


@dataclass(frozen=True, slots=True)
class Router:
    dynamic_stats: bool = True
    start_child_span: bool = False
    upstream_log: tuple[AccessLog, ...] = ()
    suppress_envoy_headers: bool = False
    strict_check_headers: tuple[str, ...] = ()
    respect_expected_rq_timeout: bool = False
