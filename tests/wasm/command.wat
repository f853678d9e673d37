;; ABI 0.2.0 WASI command (TinyGo style): only `_start`, which logs through WASI `fd_write` to stdout and then
;; calls `proc_exit(0)` as a command's runtime does; the host must log the line and return from proc_exit.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "started\n")
  (data (i32.const 8) "\64\00\00\00\08\00\00\00")
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 4096))
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 32)))
    (call $proc_exit (i32.const 0)))
)
