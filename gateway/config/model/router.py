"""``envoy.filters.http.router``: ``extensions.filters.http.router.v3.Router``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Router:
    dynamic_stats: bool = True
    suppress_envoy_headers: bool = False
    respect_expected_rq_timeout: bool = False
