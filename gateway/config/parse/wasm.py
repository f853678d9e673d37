"""Parsers of Wasm plugin configs: the HTTP filter's ``Wasm``, ``WasmService``, ``PluginConfig``, ``VmConfig``."""

from __future__ import annotations

from gateway.config.fields import Fields, Invalid
from gateway.config.model.core import DataSource
from gateway.config.model.wasm import EnvironmentVariables, FailurePolicy, PluginConfig, VmConfig, Wasm, WasmService
from gateway.config.parse.common import parse_data_source

# Envoy's runtime names; all of them run on wasmtime here except the null VM (native plugins), which we lack.
RUNTIMES = frozenset(
    {"envoy.wasm.runtime.v8", "envoy.wasm.runtime.wasmtime", "envoy.wasm.runtime.wamr", "envoy.wasm.runtime.wavm"}
)
NULL_RUNTIME = "envoy.wasm.runtime.null"

_STRING_VALUE = "google.protobuf.StringValue"
_BYTES_VALUE = "google.protobuf.BytesValue"


def parse_wasm(f: Fields) -> Wasm:
    config = f.message("config", parse_plugin_config, required=True)
    if config is None:
        raise Invalid
    return Wasm(config=config)


def parse_wasm_service(f: Fields) -> WasmService:
    config = f.message("config", parse_plugin_config, required=True)
    singleton = f.boolean("singleton")
    if config is None:
        raise Invalid
    return WasmService(config=config, singleton=singleton)


def parse_plugin_config(f: Fields) -> PluginConfig:
    f.unsupported("capability_restriction_config", "reload_config")
    vm_config = f.message("vm_config", parse_vm_config, required=True)
    name = f.string("name")
    root_id = f.string("root_id")
    configuration = f.message("configuration", parse_configuration_any) or b""
    fail_open = f.boolean("fail_open")
    failure_policy = f.enum("failure_policy", FailurePolicy, FailurePolicy.UNSPECIFIED)
    if vm_config is None:
        raise Invalid
    return PluginConfig(
        vm_config=vm_config,
        name=name,
        root_id=root_id,
        configuration=configuration,
        fail_open=fail_open,
        failure_policy=failure_policy,
    )


def parse_vm_config(f: Fields) -> VmConfig:
    runtime = f.string("runtime", required=True)
    if runtime == NULL_RUNTIME:
        f.error("runtime", f"{runtime}: not supported (native plugins); use a Wasm module")
    elif runtime and runtime not in RUNTIMES:
        f.error("runtime", f"unknown runtime {runtime!r} (expected one of {', '.join(sorted(RUNTIMES))})")
    code = f.message("code", _parse_async_data_source, required=True)
    env = f.message("environment_variables", _parse_environment_variables)
    vm_id = f.string("vm_id")
    configuration = f.message("configuration", parse_configuration_any) or b""
    # Accepted, no effect: precompiled sections are for V8 (modules are compiled and cached here whatever they
    # carry), and a code cache miss only happens with remote code, which is not supported.
    f.boolean("allow_precompiled")
    f.boolean("nack_on_code_cache_miss")
    if runtime not in RUNTIMES or code is None:
        raise Invalid
    return VmConfig(
        runtime=runtime,
        code=code,
        vm_id=vm_id,
        configuration=configuration,
        environment_variables=env or EnvironmentVariables(),
    )


def parse_configuration_any(f: Fields) -> bytes:
    """A plugin's ``configuration`` Any: a StringValue (its UTF-8 text) or a BytesValue, as Envoy hands it to the
    plugin."""
    type_url = f.string("@type", required=True)
    type_name = type_url.rsplit("/", 1)[-1]
    if type_name == _STRING_VALUE:
        return f.string("value").encode()
    if type_name == _BYTES_VALUE:
        return f.bytes_("value") or b""
    if type_name:
        f.error("@type", f"{type_name}: not supported (use {_STRING_VALUE} or {_BYTES_VALUE})")
    f.ignore_rest()
    raise Invalid


def _parse_async_data_source(f: Fields) -> DataSource:
    f.unsupported("remote")
    local = f.message("local", parse_data_source, required=not f.has("remote"))
    if local is None:
        raise Invalid
    return local


def _parse_environment_variables(f: Fields) -> EnvironmentVariables:
    return EnvironmentVariables(host_env_keys=f.strings("host_env_keys"), key_values=f.string_map("key_values"))
