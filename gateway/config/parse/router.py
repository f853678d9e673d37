"""Parser of ``envoy.filters.http.router``."""

from __future__ import annotations

from gateway.config.fields import Fields
from gateway.config.model.router import Router


def parse_router(f: Fields) -> Router:
    f.unsupported(
        "upstream_log",
        "upstream_log_options",
        "suppress_grpc_request_failure_code_stats",
        "upstream_http_filters",
        "strict_check_headers",
        "start_child_span",
    )
    return Router(
        dynamic_stats=f.boolean("dynamic_stats", True, wrapped=True),
        suppress_envoy_headers=f.boolean("suppress_envoy_headers"),
        respect_expected_rq_timeout=f.boolean("respect_expected_rq_timeout"),
    )
