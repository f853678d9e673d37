"""Every cap the proxy-wasm host enforces, in one place, with its default.

The embedder builds one `Limits` per plugin (from its config) or uses `DEFAULT_LIMITS`.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    # Guest linear memory per VM (the C++ host uses 1 GiB; a proxy rarely needs more than a few MiB).
    max_memory_bytes: int = 256 * MIB
    # Wall-clock budget of one guest callback, enforced by epoch interruption.
    callback_deadline_ms: int = 100
    # Start functions and configure may initialise a language runtime (Go), so they get longer.
    start_deadline_ms: int = 5_000
    # Epoch ticker period: deadlines are rounded up to whole ticks.
    epoch_tick_ms: int = 5
    # Request/response body a plugin may buffer (Envoy's per-stream buffer limit): 413 / 500 beyond it.
    max_buffer_bytes: int = 1 * MIB
    # Serialized pairs accepted from the guest (C++ host limits.h): beyond => treated as an empty map.
    max_pairs_bytes: int = 1 * MIB
    max_pairs_count: int = 1024
    # Largest single value a hostcall copies into guest memory (header map, body, property, shared value).
    max_out_bytes: int = 16 * MIB
    # WASI random_get refuses larger requests with EINVAL (C++ host limit).
    max_random_bytes: int = 64 * 1024
    # Shared data across all VMs of a vm_id, and each shared queue's depth.
    max_shared_data_bytes: int = 64 * MIB
    max_queue_items: int = 10_000
    # Outstanding HTTP callouts per root context.
    max_http_calls: int = 1024
    # VM rebuild backoff after failures: base doubles per consecutive failure up to the max.
    reload_backoff_base_s: float = 0.1
    reload_backoff_max_s: float = 30.0
    # Log messages longer than this are truncated (a plugin must not flood the log with one call).
    max_log_message_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()
