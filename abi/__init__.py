"""The proxy-wasm host: runs Envoy proxy-wasm plugins (ABI 0.1.0, 0.2.0, 0.2.1) in wasmtime.

Public API (nothing here imports `gateway`):
  abi.runtime  load_module(code, plugin_name) -> CompiledModule   compile (abi.cache, on disk) + check
               configure_engine(cache_dir, epoch_tick_ms)        process-wide engine settings
               VmRegistry                                        one VM per vm_id + code per worker
  abi.plugin   PluginConfig, Plugin(module, config, host, registry)  a started, configured plugin
               validate_plugin(code, config)                     Envoy's throwaway canary
               Plugin.new_stream(stream_host) -> HttpStream      (abi.stream) on_request_headers/_body/
                                                                 _trailers, on_response_*, on_log, on_destroy
  abi.host     PluginHost, StreamHost (capability Protocols the embedder implements), LocalReply,
               HttpCallRequest, HttpCallResponse, PluginFailure, Metric
  abi.types    Status, FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, FailurePolicy, ...
  abi.limits   Limits, DEFAULT_LIMITS                            every cap, in one place
  abi.errors   PluginLoadError, VmTrap, TrapKind
  abi.testing  Harness, Stream                                   pytest harness over an in-memory host
"""
