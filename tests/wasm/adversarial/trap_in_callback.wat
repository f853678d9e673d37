;; Traps (`unreachable`) in the callback named by the first byte of the request's `x-trigger` value:
;;   h request headers   b request body    t request trailers
;;   H response headers  B response body   T response trailers
;;   l proxy_on_log      d proxy_on_done   x proxy_on_delete
;;   a the allocator, reached through proxy_get_header_map_pairs during request headers
;;   c proxy_on_http_call_response (request headers call cluster `upstream` and pause until the answer)
;;   k proxy_on_tick (request headers set a 10 ms tick period; the trap happens outside any stream)
;;   s request headers recurse without end until the call stack is exhausted
;; Without a trigger the request passes and is marked `x-survivor: trap_in_callback`.
;; Pins: a trap in any callback fails only its stream (503 before the response started, reset after;
;; fail-open continues without the plugin), is logged with the plugin name and trap message and counted;
;; the VM is rebuilt and the next stream works; traps after the stream ended (log/done/delete) or outside it
;; (tick) affect no stream's response but still rebuild the VM.
(module
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call"
    (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-survivor")
  (data (i32.const 48) "trap_in_callback")
  (data (i32.const 80) "upstream")
  ;; Callout headers: :method GET, :path /, :authority upstream (68 bytes).
  (data (i32.const 128) "\03\00\00\00\07\00\00\00\03\00\00\00\05\00\00\00\01\00\00\00\0a\00\00\00\08\00\00\00"
    ":method\00GET\00:path\00/\00:authority\00upstream\00")
  ;; The armed callback's letter, 0 when disarmed.
  (global $armed (mut i32) (i32.const 0))
  (func $trap_if (param $letter i32)
    (if (i32.eq (global.get $armed) (local.get $letter)) (then (unreachable))))
  (func $recurse (param $depth i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $depth) (i32.const 1))) (i32.const 1)))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32)
    (call $trap_if (i32.const 97))  ;; a
    (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $armed (i32.const 0))
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
      (then (global.set $armed (i32.load8_u (i32.load (i32.const 8)))))
      (else (drop (call $replace_header (i32.const 0) (i32.const 32) (i32.const 10) (i32.const 48)
        (i32.const 16)))))
    (call $trap_if (i32.const 104))  ;; h
    (if (i32.eq (global.get $armed) (i32.const 115))  ;; s
      (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (global.get $armed) (i32.const 97))  ;; a
      (then (drop (call $get_pairs (i32.const 0) (i32.const 8) (i32.const 12)))))
    (if (i32.eq (global.get $armed) (i32.const 107))  ;; k
      (then (drop (call $set_tick (i32.const 10)))))
    (if (i32.eq (global.get $armed) (i32.const 99))  ;; c
      (then
        (drop (call $http_call (i32.const 80) (i32.const 8) (i32.const 128) (i32.const 68) (i32.const 0)
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 8)))
        (return (i32.const 1))))
    (i32.const 0))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (call $trap_if (i32.const 98)) (i32.const 0))  ;; b
  (func (export "proxy_on_request_trailers") (param i32 i32) (result i32)
    (call $trap_if (i32.const 116)) (i32.const 0))  ;; t
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (call $trap_if (i32.const 72)) (i32.const 0))  ;; H
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (call $trap_if (i32.const 66)) (i32.const 0))  ;; B
  (func (export "proxy_on_response_trailers") (param i32 i32) (result i32)
    (call $trap_if (i32.const 84)) (i32.const 0))  ;; T
  (func (export "proxy_on_log") (param i32)
    (call $trap_if (i32.const 108)))  ;; l
  (func (export "proxy_on_done") (param i32) (result i32)
    (call $trap_if (i32.const 100)) (i32.const 1))  ;; d
  (func (export "proxy_on_delete") (param i32)
    (call $trap_if (i32.const 120)))  ;; x
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (call $trap_if (i32.const 99)))  ;; c
  (func (export "proxy_on_tick") (param i32)
    (call $trap_if (i32.const 107))))  ;; k
