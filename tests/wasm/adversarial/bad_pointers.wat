;; Passes out-of-bounds pointers and lengths to host calls from proxy_on_request_headers, including values that
;; are negative as i32 and ranges whose end wraps around 2^32, and an allocator that returns unusable addresses.
;; Memory is exactly one page (65536 bytes) and cannot grow, so every bound below is exact.
;; Each call's status is recorded as one letter, 'A' + status ('A' = OK, 'G' = INVALID_MEMORY_ACCESS), and the
;; letters are added to the request as `x-statuses`; a canary in the last 4 bytes of memory is then checked
;; ('A' intact, 'Z' overwritten). Expected: "A" + 14 x "G" + "A".
;; Pins: the host masks i32 to unsigned and bounds-checks every range before reading or writing; a bad range is
;; INVALID_MEMORY_ACCESS with no side effect (no header added, map not cleared, no local response, no callout,
;; no write through a negative offset); the stream itself continues.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_send_local_response"
    (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call"
    (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-bad")
  (data (i32.const 48) "x-statuses")
  ;; What the allocator returns: one scratch area, except while a lying case runs.
  (global $allocation (mut i32) (i32.const 1024))
  (global $count (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (global.get $allocation))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  ;; Appends 'A' + status to the letters at 512.
  (func $record (param $status i32)
    (i32.store8 (i32.add (i32.const 512) (global.get $count)) (i32.add (i32.const 65) (local.get $status)))
    (global.set $count (i32.add (global.get $count) (i32.const 1))))
  (func $value_with_lying_allocator (param $address i32)
    (global.set $allocation (local.get $address))
    (call $record (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
    (global.set $allocation (i32.const 1024)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $count (i32.const 0))
    (i32.store (i32.const 65532) (i32.const 0xDEADBEEF))
    ;; (0, 0) is a valid empty range.
    (call $record (call $log (i32.const 2) (i32.const 0) (i32.const 0)))
    ;; Pointer negative as i32.
    (call $record (call $log (i32.const 2) (i32.const -16) (i32.const 32)))
    ;; Range running past the end of memory.
    (call $record (call $log (i32.const 2) (i32.const 65000) (i32.const 1000)))
    ;; Length 0xFFFFFFFF: pointer + length wraps to 65534 in 32-bit arithmetic.
    (call $record (call $log (i32.const 2) (i32.const 65535) (i32.const -1)))
    ;; Key pointer 0xFFFFFFFF.
    (call $record (call $get_header (i32.const 0) (i32.const -1) (i32.const 4) (i32.const 8) (i32.const 12)))
    ;; Value length 0xFFFFFFFF: nothing may be added.
    (call $record (call $add_header (i32.const 0) (i32.const 32) (i32.const 5) (i32.const 100) (i32.const -1)))
    ;; Output pointer -4: an unmasked host would write over the canary at the end of memory.
    (call $record (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const -4) (i32.const 12)))
    ;; Output pointer exactly at the end of memory.
    (call $record (call $get_pairs (i32.const 0) (i32.const 65536) (i32.const 12)))
    ;; An 8-byte output starting 4 bytes before the end.
    (call $record (call $now (i32.const 65532)))
    ;; Body length 0x7FFFFFFF: no local response may be sent.
    (call $record (call $local_response (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 100)
      (i32.const 0x7FFFFFFF) (i32.const 0) (i32.const 0) (i32.const -1)))
    ;; Pairs running past the end: the map must not be cleared.
    (call $record (call $set_pairs (i32.const 0) (i32.const 60000) (i32.const 10000)))
    ;; Upstream name at 0xFFFFFFF8: no callout may start.
    (call $record (call $http_call (i32.const -8) (i32.const 8) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 8)))
    ;; The allocator hands out 6 bytes before the end, then 0 (failure), then 0xFFFFFFFF; the trigger's value
    ;; is longer than 6 bytes.
    (call $value_with_lying_allocator (i32.const 65530))
    (call $value_with_lying_allocator (i32.const 0))
    (call $value_with_lying_allocator (i32.const -1))
    (call $record (select (i32.const 0) (i32.const 25) (i32.eq (i32.load (i32.const 65532)) (i32.const 0xDEADBEEF))))
    (drop (call $add_header (i32.const 0) (i32.const 48) (i32.const 10) (i32.const 512) (global.get $count)))
    (i32.const 0)))
