;; Exports callbacks but no `proxy_abi_version_*` marker.
;; Pins: the module is rejected as "missing or unknown proxy-wasm ABI version", as the C++ host does.
(module
  (memory (export "memory") 1)
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1)))
