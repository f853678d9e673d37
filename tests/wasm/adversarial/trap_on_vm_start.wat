;; Traps (`unreachable`) in proxy_on_vm_start.
;; Pins: a trap while starting is a configuration error naming the plugin and the trap, not a crash.
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (unreachable))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1)))
