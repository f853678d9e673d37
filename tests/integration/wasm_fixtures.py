"""WAT plugins written for the end-to-end tests (ABI 0.2.1, each exporting memory and a bump allocator), compiled
by the tests with ``wasmtime.wat2wasm``."""

from __future__ import annotations

_ALLOCATOR = """
  (global $heap (mut i32) (i32.const 8192))
  (func (export "proxy_abi_version_0_2_1"))
  ;; A bump allocator that wraps around: nothing a callback allocates is kept past the next callback.
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $size)) (i32.const 65536))
      (then (global.set $heap (i32.const 8192))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
"""

BODY_REWRITE = f"""
;; Buffers whole bodies (StopIterationAndBuffer until end_of_stream) and rewrites them at the end: the request
;; body is read whole and replaced by "wrapped(<body>)" (built at 4096, bodies under 4 KiB); the response body
;; gets "rewritten:" prepended and "!" appended. Both headers callbacks remove content-length, since the length
;; changes. Counts rewritten bodies in `body rewrite/bodies`.
(module
  (import "env" "proxy_remove_header_map_value" (func $remove (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (global $bodies (mut i32) (i32.const 0))
  (data (i32.const 16) "content-length")
  (data (i32.const 48) "wrapped(")
  (data (i32.const 80) "rewritten:")
  (data (i32.const 96) "!")
  (data (i32.const 112) "body rewrite/bodies")
  {_ALLOCATOR}
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const 112) (i32.const 19) (i32.const 8)))
    (global.set $bodies (i32.load (i32.const 8)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $remove (i32.const 0) (i32.const 16) (i32.const 14))) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $remove (i32.const 2) (i32.const 16) (i32.const 14))) (i32.const 0))
  ;; prepend = (start 0, size 0); append = (start >= length)
  (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (drop (call $get_buffer (i32.const 0) (i32.const 0) (local.get $size) (i32.const 200) (i32.const 204)))
    (memory.copy (i32.const 4096) (i32.const 48) (i32.const 8))
    (memory.copy (i32.const 4104) (i32.load (i32.const 200)) (local.get $size))
    (i32.store8 (i32.add (i32.const 4104) (local.get $size)) (i32.const 41))  ;; ")"
    ;; (start 0, size >= length) replaces the whole body
    (drop (call $set_buffer (i32.const 0) (i32.const 0) (local.get $size) (i32.const 4096)
      (i32.add (local.get $size) (i32.const 9))))
    (drop (call $increment (global.get $bodies) (i64.const 1)))
    (i32.const 0))
  (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (drop (call $set_buffer (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 80) (i32.const 10)))
    (drop (call $set_buffer (i32.const 1) (i32.const -1) (i32.const 0) (i32.const 96) (i32.const 1)))
    (drop (call $increment (global.get $bodies) (i64.const 1)))
    (i32.const 0))
)
"""

SERVICE = f"""
;; An envoy.bootstrap.wasm service (root context only). On configure: registers the shared queue
;; `service.paths`, defines the counter `service.ticks` and sets a 20 ms tick. Each tick counts and stores
;; `service.ticked` = "yes" in shared data; each queue item is stored as `service.last`.
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick_period (param i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (global $ticks (mut i32) (i32.const 0))
  (data (i32.const 16) "service.paths")
  (data (i32.const 32) "service.ticked")
  (data (i32.const 48) "yes")
  (data (i32.const 64) "service.last")
  (data (i32.const 80) "service.ticks")
  {_ALLOCATOR}
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $register (i32.const 16) (i32.const 13) (i32.const 8)))
    (drop (call $define (i32.const 0) (i32.const 80) (i32.const 13) (i32.const 12)))
    (global.set $ticks (i32.load (i32.const 12)))
    (drop (call $tick_period (i32.const 20)))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $increment (global.get $ticks) (i64.const 1)))
    (drop (call $set_shared (i32.const 32) (i32.const 14) (i32.const 48) (i32.const 3) (i32.const 0))))
  (func (export "proxy_on_queue_ready") (param $root i32) (param $token i32)
    (if (i32.eqz (call $dequeue (local.get $token) (i32.const 200) (i32.const 204)))
      (then (drop (call $set_shared (i32.const 64) (i32.const 12)
        (i32.load (i32.const 200)) (i32.load (i32.const 204)) (i32.const 0))))))
)
"""

SERVICE_CLIENT = f"""
;; The HTTP side of SERVICE (same vm_id): copies the shared data `service.ticked` and `service.last` onto the
;; request as `x-service-ticked` / `x-service-last`, enqueues the request's :path on `service.paths`, and
;; counts requests in `svc-client/requests.total`.
(module
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $resolve (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (global $requests (mut i32) (i32.const 0))
  (data (i32.const 16) "service.paths")
  (data (i32.const 32) "service.ticked")
  (data (i32.const 64) "service.last")
  (data (i32.const 80) "svc-client/requests.total")
  (data (i32.const 112) "x-service-ticked")
  (data (i32.const 128) "x-service-last")
  (data (i32.const 144) ":path")
  {_ALLOCATOR}
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const 80) (i32.const 25) (i32.const 12)))
    (global.set $requests (i32.load (i32.const 12)))
    (i32.const 1))
  (func $copy (param $key i32) (param $key_len i32) (param $header i32) (param $header_len i32)
    (if (i32.eqz (call $get_shared (local.get $key) (local.get $key_len) (i32.const 200) (i32.const 204)
                   (i32.const 208)))
      (then (drop (call $add (i32.const 0) (local.get $header) (local.get $header_len)
        (i32.load (i32.const 200)) (i32.load (i32.const 204)))))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $copy (i32.const 32) (i32.const 14) (i32.const 112) (i32.const 16))
    (call $copy (i32.const 64) (i32.const 12) (i32.const 128) (i32.const 14))
    (if (i32.eqz (call $resolve (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 13) (i32.const 220)))
      (then (if (i32.eqz (call $get_header (i32.const 0) (i32.const 144) (i32.const 5) (i32.const 224)
                                              (i32.const 228)))
        (then (drop (call $enqueue (i32.load (i32.const 220)) (i32.load (i32.const 224))
          (i32.load (i32.const 228))))))))
    (drop (call $increment (global.get $requests) (i64.const 1)))
    (i32.const 0))
)
"""

HOLD_BODY_THEN_RESUME = f"""
;; Holds the whole request body (StopIterationAndBuffer, also at end_of_stream), then resumes the request from
;; its root's next tick (20 ms later) with proxy_continue_stream on the waiting stream's context, as a plugin
;; waiting for a callout about the body would.
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $waiting (mut i32) (i32.const 0))
  {_ALLOCATOR}
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
    (if (local.get $eos) (then
      (global.set $waiting (local.get $ctx))
      (drop (call $set_tick (i32.const 20)))))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $set_tick (i32.const 0)))
    (drop (call $set_effective (global.get $waiting)))
    (drop (call $continue (i32.const 0))))
)
"""

LOG_THEN_CALL = f"""
;; Logs "hello" from proxy_on_request_headers, then enters one more guest function (where wasmtime checks the
;; epoch deadline) and continues.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  {_ALLOCATOR}
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func $after (result i32) (i32.const 0))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 16) (i32.const 5)))
    (call $after))
)
"""
