;; Spins forever in proxy_on_request_headers when the request carries `x-trigger`.
;; Pins: the CPU deadline (epoch interruption) stops the guest; the stream fails closed (503) or skips the
;; plugin (fail-open); the trap is logged and counted; the VM is rebuilt and the next stream passes through it
;; (it then marks the request with `x-survivor: loop_forever`).
(module
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-survivor")
  (data (i32.const 48) "loop_forever")
  (func (export "proxy_abi_version_0_2_1"))
  ;; Host results land in one scratch area: this fixture never keeps one.
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
      (then (loop $spin (br $spin))))
    (drop (call $replace_header (i32.const 0) (i32.const 32) (i32.const 10) (i32.const 48) (i32.const 12)))
    (i32.const 0)))
