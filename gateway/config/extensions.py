"""The built-in extensions, registered under their Envoy names (old ones included) and message types."""

from __future__ import annotations

from gateway.config.model.cluster import UPSTREAM_HTTP_PROTOCOL_OPTIONS
from gateway.config.parse.access_log import parse_file_access_log, parse_stderr_access_log, parse_stdout_access_log
from gateway.config.parse.cluster import parse_upstream_http_protocol_options
from gateway.config.parse.hcm import parse_http_connection_manager
from gateway.config.parse.router import parse_router
from gateway.config.parse.wasm import parse_wasm, parse_wasm_service
from gateway.config.registry import REGISTRY, Category, Extension

BUILTINS = (
    Extension(
        Category.NETWORK_FILTER,
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        ("envoy.filters.network.http_connection_manager", "envoy.http_connection_manager"),
        parse_http_connection_manager,
    ),
    Extension(
        Category.HTTP_FILTER,
        "envoy.extensions.filters.http.router.v3.Router",
        ("envoy.filters.http.router", "envoy.router"),
        parse_router,
    ),
    Extension(
        Category.HTTP_FILTER,
        "envoy.extensions.filters.http.wasm.v3.Wasm",
        ("envoy.filters.http.wasm",),
        parse_wasm,
    ),
    Extension(
        Category.ACCESS_LOGGER,
        "envoy.extensions.access_loggers.file.v3.FileAccessLog",
        ("envoy.access_loggers.file", "envoy.file_access_log"),
        parse_file_access_log,
    ),
    Extension(
        Category.ACCESS_LOGGER,
        "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
        ("envoy.access_loggers.stdout",),
        parse_stdout_access_log,
    ),
    Extension(
        Category.ACCESS_LOGGER,
        "envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
        ("envoy.access_loggers.stderr",),
        parse_stderr_access_log,
    ),
    Extension(
        Category.BOOTSTRAP_EXTENSION,
        "envoy.extensions.wasm.v3.WasmService",
        ("envoy.bootstrap.wasm",),
        parse_wasm_service,
    ),
    Extension(
        Category.PROTOCOL_OPTIONS,
        UPSTREAM_HTTP_PROTOCOL_OPTIONS,
        (UPSTREAM_HTTP_PROTOCOL_OPTIONS,),
        parse_upstream_http_protocol_options,
    ),
)

for _extension in BUILTINS:
    REGISTRY.register(_extension)
