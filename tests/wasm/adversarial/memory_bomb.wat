;; When the request carries `x-trigger`: asks for 1 GiB more memory in one go, then grows one page at a time
;; without bound; once the host refuses, it aborts like a real allocator out of memory (`unreachable`).
;; Pins: memory never grows past the per-VM limit; the stream fails (503 / fail-open skip); the failure is
;; logged and counted; the VM is rebuilt with fresh memory and the next stream passes through it (it then marks
;; the request with `x-survivor: memory_bomb`).
(module
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-survivor")
  (data (i32.const 48) "memory_bomb")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
      (then
        (drop (memory.grow (i32.const 16384)))
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (unreachable)))
    (drop (call $replace_header (i32.const 0) (i32.const 32) (i32.const 10) (i32.const 48) (i32.const 11)))
    (i32.const 0)))
