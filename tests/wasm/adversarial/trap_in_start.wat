;; Traps (`unreachable`) in `_start`, the WASI command entry point TinyGo builds use.
;; Pins: a trap in the start function is a configuration error naming the plugin, not a crash.
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "_start") (unreachable))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))
