"""Parser of ``envoy.filters.http.router``."""

from __future__ import annotations

from gateway.config.fields import Fields
from gateway.config.model.router import Router
from gateway.config.parse.access_log import parse_access_log

# The headers Router.strict_check_headers may name (Envoy's list).
_STRICT_CHECKABLE = frozenset(
    {
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-max-retries",
        "x-envoy-retry-grpc-on",
        "x-envoy-retry-on",
    }
)


def parse_router(f: Fields) -> Router:
    f.unsupported("upstream_log_options", "suppress_grpc_request_failure_code_stats", "upstream_http_filters")
    strict = f.strings("strict_check_headers")
    for header in strict:
        if header not in _STRICT_CHECKABLE:
            f.error("strict_check_headers", f"{header!r} cannot be strictly checked")
    return Router(
        dynamic_stats=f.boolean("dynamic_stats", True, wrapped=True),
        start_child_span=f.boolean("start_child_span"),
        upstream_log=f.repeated("upstream_log", parse_access_log),
        suppress_envoy_headers=f.boolean("suppress_envoy_headers"),
        strict_check_headers=tuple(h for h in strict if h in _STRICT_CHECKABLE),
        respect_expected_rq_timeout=f.boolean("respect_expected_rq_timeout"),
    )
