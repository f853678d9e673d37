"""typed_config: the type URL picks the extension, the name does without one; old names still work."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gateway.config import build
from gateway.config.model import (
    AccessLog,
    FailurePolicy,
    FileAccessLog,
    HttpConnectionManager,
    Router,
    StderrAccessLog,
    StdoutAccessLog,
    Wasm,
    WasmService,
)
from tests.config.helpers import HCM, LISTENER, errors, hcm, listener, seed

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def _manager(doc: object) -> HttpConnectionManager:
    manager = build(doc).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
    assert isinstance(manager, HttpConnectionManager)
    return manager


@pytest.mark.parametrize("name", ["envoy.filters.http.router", "envoy.router"])
def test_router_by_name_without_typed_config(name: str) -> None:
    doc = seed()
    hcm(doc)["http_filters"] = [{"name": name}]
    assert isinstance(_manager(doc).http_filters[0].typed_config, Router)


def test_router_by_type_whatever_its_name() -> None:
    doc = seed()
    hcm(doc)["http_filters"] = [{"name": "my-router", "typed_config": {"@type": ROUTER_TYPE, "dynamic_stats": False}}]
    (router,) = _manager(doc).http_filters
    assert router.name == "my-router"
    assert isinstance(router.typed_config, Router) and router.typed_config.dynamic_stats is False


@pytest.mark.parametrize("name", ["envoy.filters.network.http_connection_manager", "envoy.http_connection_manager"])
def test_connection_manager_names(name: str) -> None:
    doc = seed()
    listener(doc)["filter_chains"][0]["filters"][0]["name"] = name
    assert _manager(doc).stat_prefix == "ingress_http"


def test_connection_manager_by_name_needs_its_config() -> None:
    doc = seed()
    listener(doc)["filter_chains"][0]["filters"][0] = {"name": "envoy.filters.network.http_connection_manager"}
    assert errors(doc) == [
        f"{HCM}: one of route_config, rds, scoped_routes is required",
        f"{HCM}.stat_prefix: required field missing",
        f"{HCM}.http_filters: the router (envoy.filters.http.router) must be the last HTTP filter; there is none",
    ]


def test_unknown_extension_name() -> None:
    doc = seed()
    hcm(doc)["http_filters"].insert(0, {"name": "envoy.filters.http.lua"})
    assert errors(doc) == [f"{HCM}.http_filters[0].name: unknown HTTP filter 'envoy.filters.http.lua'"]


def test_unknown_extension_type() -> None:
    doc = seed()
    lua = {"name": "lua", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"}}
    hcm(doc)["http_filters"].insert(0, lua)
    assert errors(doc) == [
        f"{HCM}.http_filters[0].typed_config.@type: unknown HTTP filter type 'envoy.extensions.filters.http.lua.v3.Lua'"
    ]


def test_extension_of_the_wrong_category() -> None:
    doc = seed()
    hcm(doc)["http_filters"] = [{"name": "x", "typed_config": {"@type": HCM_TYPE}}, {"name": "envoy.router"}]
    assert errors(doc) == [
        f"{HCM}.http_filters[0].typed_config.@type: envoy.extensions.filters.network.http_connection_manager.v3."
        "HttpConnectionManager is a network filter, not an HTTP filter"
    ]


def test_typed_struct_is_not_supported() -> None:
    doc = seed()
    typed = {"@type": "type.googleapis.com/udpa.type.v1.TypedStruct", "type_url": "x", "value": {}}
    hcm(doc)["http_filters"].insert(0, {"name": "x", "typed_config": typed})
    assert errors(doc) == [f"{HCM}.http_filters[0].typed_config.@type: udpa.type.v1.TypedStruct: not supported"]


def test_optional_unknown_filter_is_skipped() -> None:
    doc = seed()
    hcm(doc)["http_filters"].insert(0, {"name": "envoy.filters.http.lua", "is_optional": True})
    assert [f.name for f in _manager(doc).http_filters] == ["envoy.filters.http.router"]
    hcm(doc)["http_filters"].pop()
    assert errors(doc) == [
        f"{HCM}.http_filters: the router (envoy.filters.http.router) must be the last HTTP filter; there is none"
    ]


def _wasm_config(**overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": "add_header",
        "root_id": "add_header",
        "configuration": {
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": '{"name": "x-hello", "value": "world"}',
        },
        "vm_config": {
            "vm_id": "edge",
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": "plugins/add_header.wasm"}},
        },
        "fail_open": False,
    }
    config.update(overrides)
    return config


def _with_wasm(config: dict[str, Any]) -> dict[str, Any]:
    doc = seed()
    hcm(doc)["http_filters"].insert(
        0, {"name": "envoy.filters.http.wasm", "typed_config": {"@type": WASM_TYPE, "config": config}}
    )
    return doc


def test_wasm_filter_as_in_the_issue() -> None:
    wasm = _manager(_with_wasm(_wasm_config())).http_filters[0].typed_config
    assert isinstance(wasm, Wasm)
    plugin = wasm.config
    assert (plugin.name, plugin.root_id) == ("add_header", "add_header")
    assert plugin.configuration == b'{"name": "x-hello", "value": "world"}'
    assert plugin.vm_config.vm_id == "edge" and plugin.vm_config.runtime == "envoy.wasm.runtime.v8"
    assert plugin.vm_config.code.filename == "plugins/add_header.wasm"
    assert plugin.effective_failure_policy is FailurePolicy.FAIL_CLOSED


def test_wasm_vm_config_details() -> None:
    config = _wasm_config(failure_policy="FAIL_RELOAD", fail_open=True)
    config["vm_config"] = {
        "runtime": "envoy.wasm.runtime.wasmtime",
        "code": {"local": {"inline_bytes": base64.b64encode(b"\0asm").decode()}},
        "configuration": {"@type": "type.googleapis.com/google.protobuf.BytesValue", "value": "AAE="},
        "environment_variables": {"host_env_keys": ["HOME"], "key_values": {"MODE": "test"}},
        "allow_precompiled": True,
    }
    wasm = _manager(_with_wasm(config)).http_filters[0].typed_config
    assert isinstance(wasm, Wasm)
    vm = wasm.config.vm_config
    assert vm.code.inline_bytes == b"\0asm"
    assert vm.configuration == b"\x00\x01"
    assert vm.environment_variables.host_env_keys == ("HOME",)
    assert dict(vm.environment_variables.key_values) == {"MODE": "test"}
    assert wasm.config.effective_failure_policy is FailurePolicy.FAIL_RELOAD


def test_fail_open_decides_when_the_policy_is_unspecified() -> None:
    wasm = _manager(_with_wasm(_wasm_config(fail_open=True))).http_filters[0].typed_config
    assert isinstance(wasm, Wasm) and wasm.config.effective_failure_policy is FailurePolicy.FAIL_OPEN


@pytest.mark.parametrize(
    ("vm_config", "error"),
    [
        (
            {"runtime": "envoy.wasm.runtime.null", "code": {"local": {"inline_string": "x"}}},
            "vm_config.runtime: envoy.wasm.runtime.null: not supported (native plugins); use a Wasm module",
        ),
        (
            {"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {"http_uri": {}}}},
            "vm_config.code.remote: not supported",
        ),
        ({"runtime": "envoy.wasm.runtime.v8"}, "vm_config.code: required field missing"),
        (
            {"runtime": "v9", "code": {"local": {"filename": "a.wasm"}}},
            "vm_config.runtime: unknown runtime 'v9' (expected one of envoy.wasm.runtime.v8, "
            "envoy.wasm.runtime.wamr, envoy.wasm.runtime.wasmtime, envoy.wasm.runtime.wavm)",
        ),
    ],
)
def test_wasm_vm_config_errors(vm_config: dict[str, Any], error: str) -> None:
    prefix = f"{HCM}.http_filters[0].typed_config.config"
    assert errors(_with_wasm(_wasm_config(vm_config=vm_config))) == [f"{prefix}.{error}"]


def test_wasm_configuration_of_another_type() -> None:
    config = _wasm_config(configuration={"@type": "type.googleapis.com/google.protobuf.Struct", "fields": {}})
    assert errors(_with_wasm(config)) == [
        f"{HCM}.http_filters[0].typed_config.config.configuration.@type: google.protobuf.Struct: not supported "
        "(use google.protobuf.StringValue or google.protobuf.BytesValue)"
    ]


def test_wasm_bootstrap_service() -> None:
    doc = seed()
    doc["bootstrap_extensions"] = [
        {
            "name": "envoy.bootstrap.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.wasm.v3.WasmService",
                "singleton": True,
                "config": _wasm_config(),
            },
        }
    ]
    (extension,) = build(doc).bootstrap_extensions
    assert isinstance(extension.typed_config, WasmService)
    assert extension.typed_config.singleton is True
    assert extension.typed_config.config.root_id == "add_header"


def _access_log(doc: object) -> tuple[AccessLog, ...]:
    return _manager(doc).access_log


def test_file_access_log_with_text_format_source() -> None:
    doc = seed()
    hcm(doc)["access_log"] = [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": "/dev/stdout",
                "log_format": {
                    "text_format_source": {"inline_string": "%RESPONSE_CODE%\n"},
                    "omit_empty_values": True,
                    "content_type": "text/plain",
                },
            },
        }
    ]
    (log,) = _access_log(doc)
    assert isinstance(log.typed_config, FileAccessLog) and log.typed_config.path == "/dev/stdout"
    fmt = log.typed_config.log_format
    assert fmt is not None
    assert (fmt.text_format, fmt.omit_empty_values) == ("%RESPONSE_CODE%\n", True)


def test_file_access_log_deprecated_formats() -> None:
    doc = seed()
    file_type = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
    hcm(doc)["access_log"] = [
        {"name": "a", "typed_config": {"@type": file_type, "path": "/tmp/a", "format": "%PROTOCOL%\n"}},
        {
            "name": "b",
            "typed_config": {"@type": file_type, "path": "/tmp/b", "json_format": {"code": "%RESPONSE_CODE%"}},
        },
    ]
    text, json = (log.typed_config for log in _access_log(doc))
    assert isinstance(text, FileAccessLog) and text.log_format is not None
    assert text.log_format.text_format == "%PROTOCOL%\n"
    assert isinstance(json, FileAccessLog) and json.log_format is not None
    assert json.log_format.json_format == {"code": "%RESPONSE_CODE%"}


def test_stdout_and_stderr_access_logs_by_name() -> None:
    doc = seed()
    hcm(doc)["access_log"] = [{"name": "envoy.access_loggers.stdout"}, {"name": "envoy.access_loggers.stderr"}]
    stdout, stderr = (log.typed_config for log in _access_log(doc))
    assert isinstance(stdout, StdoutAccessLog) and stdout.log_format is None
    assert isinstance(stderr, StderrAccessLog)


def test_file_access_log_needs_a_path_and_one_format() -> None:
    doc = seed()
    file_type = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
    hcm(doc)["access_log"] = [
        {"name": "a", "typed_config": {"@type": file_type, "format": "x", "log_format": {"text_format": "y"}}}
    ]
    at = f"{HCM}.access_log[0].typed_config"
    assert errors(doc) == [
        f"{at}.log_format: only one of format, json_format, typed_json_format, log_format may be set",
        f"{at}.path: required field missing",
    ]


def test_access_log_filter_is_not_supported() -> None:
    doc = seed()
    hcm(doc)["access_log"] = [{"name": "envoy.access_loggers.stdout", "filter": {"status_code_filter": {}}}]
    assert errors(doc) == [f"{HCM}.access_log[0].filter: not supported"]


def test_admin_access_log() -> None:
    doc = seed()
    doc["admin"] = {
        "access_log_path": "/dev/null",
        "access_log": [{"name": "envoy.access_loggers.stdout"}],
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 9901}},
    }
    admin = build(doc).admin
    assert admin.access_log_path == "/dev/null"
    assert isinstance(admin.access_log[0].typed_config, StdoutAccessLog)


def test_network_filter_of_unknown_name() -> None:
    doc = seed()
    listener(doc)["filter_chains"][0]["filters"] = [{"name": "envoy.filters.network.tcp_proxy"}]
    assert errors(doc) == [
        f"{LISTENER}.filter_chains[0].filters[0].name: unknown network filter 'envoy.filters.network.tcp_proxy'"
    ]
