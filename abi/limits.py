"""Every cap the proxy-wasm host enforces, in one place, with its default.

The embedder builds one `Limits` per plugin (from its config) or uses `DEFAULT_LIMITS`; the few caps that
belong to the whole process (one engine, one shared-data store) are the constants at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    # Guest linear memory per VM (the C++ host uses 1 GiB; a proxy rarely needs more than a few MiB).
    max_memory_bytes: int = 256 * MIB
    # CPU budget of one guest callback (its thread's CPU time), enforced by epoch interruption.
    callback_deadline_ms: int = 100
    # Start functions and configure may initialise a language runtime (Go), so they get longer.
    start_deadline_ms: int = 5_000
    # Request/response body a plugin may buffer (Envoy's per-stream buffer limit): 413 / 500 beyond it.
    max_buffer_bytes: int = 1 * MIB
    # Serialized pairs accepted from the guest (C++ host limits.h): beyond => treated as an empty map.
    max_pairs_bytes: int = 1 * MIB
    max_pairs_count: int = 1024
    # WASI random_get refuses larger requests with EINVAL (C++ host limit).
    max_random_bytes: int = 64 * 1024
    # Outstanding HTTP callouts per root context.
    max_http_calls: int = 1024
    # VM rebuild backoff after failures: base doubles per consecutive failure up to the max.
    reload_backoff_base_s: float = 0.1
    reload_backoff_max_s: float = 30.0
    # Log messages longer than this are truncated (a plugin must not flood the log with one call).
    max_log_message_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()

# Process-wide: the engine's epoch ticker period (a deadline trips up to 4 ticks + 1 after its budget; see
# `abi.runtime.configure_engine`), and the shared-data store all VMs of the process use.
EPOCH_TICK_MS = 5
MAX_SHARED_DATA_BYTES = 64 * MIB  # keys + values + queued items, across every vm_id
MAX_QUEUE_ITEMS = 10_000  # per shared queue
