"""Every module we ship imports only what Envoy provides (proxy-wasm ABI 0.2.1 and WASI preview 1) and exports what
a host needs to run it, so the same .wasm runs in the gateway and in Envoy."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted([*ROOT.glob("plugins/*/*.wasm"), *ROOT.glob("sdk-rust/examples/*.wasm")])

# The `env` functions of ABI 0.2.1 as Envoy registers them (reference §7): the common set plus
# proxy_continue_stream / proxy_close_stream / proxy_get_log_level, none of the 0.1.0-only names.
ENVOY_ENV = {
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_get_status",
    "proxy_get_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_set_buffer_bytes",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_size",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_call_foreign_function",
}
WASI = {
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "environ_get",
    "environ_sizes_get",
    "fd_close",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_read",
    "fd_seek",
    "fd_write",
    "poll_oneoff",
    "proc_exit",
    "random_get",
    "sched_yield",
}
REQUIRED_EXPORTS = {
    "memory",
    "_initialize",
    "proxy_abi_version_0_2_1",
    "proxy_on_memory_allocate",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_done",
    "proxy_on_delete",
    "proxy_on_request_headers",
    "proxy_on_response_headers",
}


def test_every_plugin_and_example_is_built() -> None:
    names = {m.stem for m in MODULES}
    assert {"header_rewrite", "jwt_auth", "rate_limit", "ext_authz", "json_redact", "hello_world", "probe"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_imports_only_what_envoy_provides(path: Path) -> None:
    module = wasmtime.Module.from_file(wasmtime.Engine(), str(path))
    for imported in module.imports:
        if imported.module == "env":
            assert imported.name in ENVOY_ENV, imported.name
        else:
            assert imported.module == "wasi_snapshot_preview1", imported.module
            assert imported.name in WASI, imported.name
    exports = {e.name for e in module.exports}
    assert not REQUIRED_EXPORTS - exports, f"missing exports: {REQUIRED_EXPORTS - exports}"
    assert not any(name.startswith("proxy_abi_version_0_1") or name == "proxy_abi_version_0_2_0" for name in exports)
    assert path.stat().st_size < 300_000  # release builds: a few hundred KB at most
