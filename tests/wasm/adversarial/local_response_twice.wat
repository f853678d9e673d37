;; Sends local responses where a host can get them wrong. The first byte of the request's `x-trigger` value
;; picks the case:
;;   d  two proxy_send_local_response calls in one request-headers callback (403 "first", then 418 "second")
;;   r  a local response from proxy_on_response_headers (502 "replaced"), replacing the upstream's response;
;;      the reply's own response headers then pass
;;   R  recursive: request headers send 403 "first"; response headers, which run again for that local reply,
;;      send 500 "again" every time
;;   b  a local response from proxy_on_response_body (500 "too late"), after the response headers went out
;; Without a trigger the request passes and is marked `x-survivor: local_response_twice`.
;; Pins: one whole reply reaches the client: `d` answers with the first call's reply and stops the request; `r`
;; replaces the upstream response; for `R` the nested reply goes straight to the client (no filter runs again, as
;; in Envoy), which ends the recursion; `b` cannot replace headers already sent, so the stream is reset; the VM
;; stays healthy and the next stream works.
(module
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response"
    (func $local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-trigger")
  (data (i32.const 32) "x-survivor")
  (data (i32.const 48) "local_response_twice")
  (data (i32.const 80) "first")
  (data (i32.const 96) "second")
  (data (i32.const 112) "replaced")
  (data (i32.const 128) "again")
  (data (i32.const 144) "too late")
  (global $armed (mut i32) (i32.const 0))
  (func $reply (param $status i32) (param $text i32) (param $len i32)
    ;; The text is both the details and the body; no extra headers, no gRPC status.
    (drop (call $local_response (local.get $status) (local.get $text) (local.get $len) (local.get $text)
      (local.get $len) (i32.const 0) (i32.const 0) (i32.const -1))))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $armed (i32.const 0))
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 9) (i32.const 8) (i32.const 12)))
      (then (global.set $armed (i32.load8_u (i32.load (i32.const 8)))))
      (else (drop (call $replace_header (i32.const 0) (i32.const 32) (i32.const 10) (i32.const 48)
        (i32.const 20)))))
    (if (i32.eq (global.get $armed) (i32.const 100))  ;; d
      (then
        (call $reply (i32.const 403) (i32.const 80) (i32.const 5))
        (call $reply (i32.const 418) (i32.const 96) (i32.const 6))))
    (if (i32.eq (global.get $armed) (i32.const 82))  ;; R
      (then (call $reply (i32.const 403) (i32.const 80) (i32.const 5))))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (if (i32.eq (global.get $armed) (i32.const 114))  ;; r, once: its own reply passes untouched
      (then
        (global.set $armed (i32.const 0))
        (call $reply (i32.const 502) (i32.const 112) (i32.const 8))))
    (if (i32.eq (global.get $armed) (i32.const 82))  ;; R
      (then (call $reply (i32.const 500) (i32.const 128) (i32.const 5))))
    (i32.const 0))
  (func (export "proxy_on_response_body") (param i32 i32 i32) (result i32)
    (if (i32.eq (global.get $armed) (i32.const 98))  ;; b
      (then (call $reply (i32.const 500) (i32.const 144) (i32.const 8))))
    (i32.const 0)))
