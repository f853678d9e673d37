"""The ``envoy.bootstrap.wasm`` service through a running gateway: a root-only VM started with the server ticks,
fills shared data and drains a shared queue that an HTTP plugin of the same ``vm_id`` reads and feeds; it is closed
at shutdown; one that cannot start rejects the config with its YAML path."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.config.errors import ConfigErrors
from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of
from tests.integration.wasm_fixtures import SERVICE, SERVICE_CLIENT
from tests.integration.wasm_support import ADMIN, WAT, compile_wat, eventually, stats, unique_vm_id, wasm_filter


def _service(code: Path, vm_id: str) -> str:
    return f"""bootstrap_extensions:
- name: envoy.bootstrap.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.wasm.v3.WasmService
    singleton: true
    config:
      name: service
      root_id: service
      vm_config:
        vm_id: {vm_id}
        runtime: envoy.wasm.runtime.v8
        code: {{local: {{filename: "{code}"}}}}
"""


async def test_service_ticks_and_shares_data_and_queues_with_http_plugins(tmp_path: Path) -> None:
    vm_id = unique_vm_id("service")
    service = compile_wat(SERVICE, tmp_path)
    client_plugin = wasm_filter("svc_client", compile_wat(SERVICE_CLIENT, tmp_path), vm_id=vm_id)
    async with echo_upstream() as up:
        config = ADMIN + _service(service, vm_id) + basic_config(up, http_filters=client_plugin)
        async with gateway(config) as gw:
            # The service and the HTTP filter's plugin, both closed with the server.
            assert gw.built is not None and len(gw.built.wasm_plugins) == 2

            async def ticked() -> bool:
                return (await stats(gw)).get("wasmcustom.service.ticks", 0) >= 2

            await eventually(ticked)
            client = await Client.connect(port_of(gw))
            first = (await client.request("GET", "/first")).json()["headers"]
            await asyncio.sleep(0.05)  # the queue item reaches the service's root on a later loop turn
            second = (await client.request("GET", "/second")).json()["headers"]
            await client.close()
            counters = await stats(gw)
            plugins = list(gw.built.wasm_plugins)
        assert all(plugin.vm is None for plugin in plugins)  # closed with the server
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["x-service-ticked"] == "yes"
    assert "x-service-last" not in first
    assert second["x-service-last"] == "/first"
    assert counters["wasmcustom.svc-client/requests.total"] == 2


async def test_service_that_cannot_start_is_a_config_error_with_its_path(tmp_path: Path) -> None:
    refuses = compile_wat(WAT / "adversarial" / "configure_false.wat", tmp_path)
    with pytest.raises(ConfigErrors) as raised:
        async with gateway(_service(refuses, unique_vm_id("service")) + basic_config(9)):
            pass
    [error] = raised.value.errors
    assert error.path == "bootstrap_extensions[0].typed_config.config"
    assert "proxy_on_configure returned false" in str(error)
