;; Writes oversized header data from proxy_on_request_headers. The first byte of the `x-trigger` value picks
;; the attack:
;;   v  proxy_add_header_map_value with a 16 MiB value
;;   k  proxy_add_header_map_value with a 16 MiB key
;;   m  100000 proxy_add_header_map_value calls, stopping at the first refusal
;;   p  proxy_set_header_map_pairs with a 12-byte buffer that claims 0x7FFFFFFF pairs
;; The status of the (last) call, 'A' + status, then replaces the `x-trigger` value (a replace, so it still
;; fits a map the attack filled to its count limit).
;; Pins: the host enforces its header limits instead of buffering without bound (refusal with an error status or
;; a failed stream, never an unbounded map or a crash); a pairs buffer that lies about its count is rejected
;; without allocating for it (Envoy/C++ host: decoded as an empty map).
(module
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  ;; 17 MiB fits the 16 MiB blob at 1 MiB.
  (memory (export "memory") 272)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-huge")
  (data (i32.const 48) "x-many")
  ;; count 0x7FFFFFFF, then one (key_len, value_len) entry and nothing else.
  (data (i32.const 128) "\ff\ff\ff\7f\01\00\00\00\01\00\00\00")
  (global $blob i32 (i32.const 0x100000))
  (global $blob_len i32 (i32.const 0x1000000))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $many (result i32)
    (local $i i32)
    (local $status i32)
    (loop $again
      (local.set $status
        (call $add_header (i32.const 0) (i32.const 48) (i32.const 6) (i32.const 32) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.and (i32.eqz (local.get $status)) (i32.lt_u (local.get $i) (i32.const 100000)))))
    (local.get $status))
  (func $attack (param $mode i32) (result i32)
    (memory.fill (global.get $blob) (i32.const 97) (global.get $blob_len))
    (if (i32.eq (local.get $mode) (i32.const 118))  ;; v
      (then (return (call $add_header (i32.const 0) (i32.const 32) (i32.const 6)
        (global.get $blob) (global.get $blob_len)))))
    (if (i32.eq (local.get $mode) (i32.const 107))  ;; k
      (then (return (call $add_header (i32.const 0) (global.get $blob) (global.get $blob_len)
        (i32.const 32) (i32.const 6)))))
    (if (i32.eq (local.get $mode) (i32.const 109))  ;; m
      (then (return (call $many))))
    (call $set_pairs (i32.const 0) (i32.const 128) (i32.const 12)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
      (then
        (i32.store8 (i32.const 96)
          (i32.add (i32.const 65) (call $attack (i32.load8_u (i32.load (i32.const 8))))))
        (drop (call $replace_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 96) (i32.const 1)))))
    (i32.const 0)))
