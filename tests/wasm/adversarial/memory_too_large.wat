;; Declares 20000 pages (1.25 GiB) of initial memory: a memory bomb at load time.
;; Pins: instantiation fails against the per-VM memory limit and the configuration is rejected with an error
;; naming the plugin; nothing else is affected.
(module
  (memory (export "memory") 20000)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024)))
