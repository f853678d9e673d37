;; ABI 0.2.0 reactor with `_initialize` and `main`, plus a mistyped callback. The start functions log their
;; names (the host must run `_initialize`, then `main(0, 0)`); `proxy_on_request_headers` has the 0.1.0
;; shape (two parameters), which a 0.2.x host must treat as absent: it logs "mistyped" if ever called.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "_initialize")
  (data (i32.const 120) "main")
  (data (i32.const 140) "mistyped")
  (data (i32.const 160) "_start")
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 4096))
  (func (export "_initialize") (drop (call $log (i32.const 2) (i32.const 100) (i32.const 11))))
  (func (export "main") (param i32 i32) (result i32) (drop (call $log (i32.const 2) (i32.const 120) (i32.const 4))) (i32.const 0))
  (func (export "_start") (drop (call $log (i32.const 2) (i32.const 160) (i32.const 6))))
  (func (export "proxy_on_request_headers") (param i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 140) (i32.const 8)))
    (i32.const 1))
)
