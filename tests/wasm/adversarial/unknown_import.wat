;; Imports a host function no proxy-wasm host defines.
;; Pins: linking fails and the configuration is rejected with an error naming the plugin and the missing
;; import (`env.proxy_does_not_exist`).
(module
  (import "env" "proxy_does_not_exist" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))
