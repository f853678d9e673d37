"""Failure policy through the gateway with the adversarial WAT fixtures (tests/wasm/adversarial/): a failing plugin
fails only its stream (503 ``wasm_fail_stream``, or the plugin is skipped when fail-open), the failure is logged with
the plugin's name and the trap message and counted in the stats, the VM is rebuilt and the next request is served by
it, other connections keep being served, and the process keeps running. A plugin that cannot start is a config error
with its YAML path, in validate mode and when serving."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.config.errors import ConfigErrors
from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request
from tests.integration.wasm_fixtures import LOG_THEN_CALL
from tests.integration.wasm_support import ADMIN, ROOT, WAT, compile_wat, eventually, stats, wasm_filter

ADVERSARIAL = WAT / "adversarial"
FILTER_PATH = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config"


def _access_log(path: Path) -> str:
    return f"""          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {path}
              log_format: {{text_format: "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\\n"}}"""


def _config(tmp_path: Path, up: int, fixture: str, policy: str | None = None) -> str:
    code = compile_wat(ADVERSARIAL / f"{fixture}.wat", tmp_path)
    filters = wasm_filter(fixture, code, policy=policy)
    return ADMIN + basic_config(up, http_filters=filters, extra_hcm=_access_log(tmp_path / "access.log"))


def _survivor(r: object) -> object:
    headers = r.json()["headers"]  # type: ignore[attr-defined]
    assert isinstance(headers, dict)
    return headers.get("x-survivor")


@pytest.mark.parametrize("trigger", ["h", "H"])
async def test_trap_fails_the_stream_with_503_is_counted_logged_and_the_vm_rebuilt(
    tmp_path: Path, trigger: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with echo_upstream() as up, gateway(_config(tmp_path, up, "trap_in_callback")) as gw:
        port = port_of(gw)
        with caplog.at_level(logging.ERROR, logger="abi"):
            failed = await request(port, "GET", "/", headers=[("x-trigger", trigger)])
        next_one = await request(port, "GET", "/")
        counters = await stats(gw)
    assert failed.status == 503
    assert next_one.status == 200 and _survivor(next_one) == "trap_in_callback"
    assert counters["wasm.trap_in_callback.vm_failures"] == 1
    assert counters["wasm.trap_in_callback.vm_failures_trap"] == 1
    assert counters["wasm.trap_in_callback.vm_failures_deadline"] == 0
    logged = [r.getMessage() for r in caplog.records]
    assert any("'trap_in_callback'" in m and "unreachable" in m for m in logged), logged
    assert (tmp_path / "access.log").read_text().splitlines() == ["503 wasm_fail_stream", "200 via_upstream"]


async def test_fail_open_passes_the_request_without_the_plugin(tmp_path: Path) -> None:
    async with echo_upstream() as up, gateway(_config(tmp_path, up, "trap_in_callback", "FAIL_OPEN")) as gw:
        port = port_of(gw)
        skipped = await request(port, "GET", "/skipped", headers=[("x-trigger", "h")])
        next_one = await request(port, "GET", "/")
        counters = await stats(gw)
    assert skipped.status == 200 and skipped.json()["path"] == "/skipped"
    assert _survivor(skipped) is None  # the plugin did not touch the request
    assert _survivor(next_one) == "trap_in_callback"  # a rebuilt VM serves the next one
    assert counters["wasm.trap_in_callback.vm_failures"] == 1


async def test_infinite_loop_hits_the_deadline_and_new_connections_are_served(tmp_path: Path) -> None:
    async with echo_upstream() as up, gateway(_config(tmp_path, up, "loop_forever")) as gw:
        port = port_of(gw)
        # A stream waiting for its upstream on the same VM fails with it (Envoy fails it at its next callback).
        in_flight = asyncio.create_task(request(port, "GET", "/slow", headers=[("x-echo-delay-ms", "1000")]))

        async def upstream_busy() -> bool:
            return (await stats(gw))["cluster.upstream.upstream_rq_active"] == 1

        await eventually(upstream_busy)
        started = time.monotonic()
        spun = await request(port, "GET", "/", headers=[("x-trigger", "1")])
        spin_time = time.monotonic() - started
        others = await asyncio.gather(*(request(port, "GET", f"/{i}") for i in range(5)))
        counters = await stats(gw)
        assert (await in_flight).status == 503
    assert spun.status == 503
    assert spin_time < 2.0  # the 100 ms deadline, not a hang
    assert [(r.status, _survivor(r)) for r in others] == [(200, "loop_forever")] * 5
    assert counters["wasm.loop_forever.vm_failures_deadline"] == 1
    assert (tmp_path / "access.log").read_text().count("503 wasm_fail_stream") == 2


async def test_memory_bomb_fails_only_its_stream(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with echo_upstream() as up, gateway(_config(tmp_path, up, "memory_bomb")) as gw:
        port = port_of(gw)
        with caplog.at_level(logging.ERROR, logger="abi"):
            bombed = await request(port, "GET", "/", headers=[("x-trigger", "1")])
        next_one = await request(port, "GET", "/")
        counters = await stats(gw)
    assert bombed.status == 503
    assert _survivor(next_one) == "memory_bomb"
    assert counters["wasm.memory_bomb.vm_failures"] == 1
    assert counters["wasm.memory_bomb.vm_failures_memory"] + counters["wasm.memory_bomb.vm_failures_deadline"] == 1
    assert any("'memory_bomb'" in r.getMessage() for r in caplog.records)


async def test_trap_after_the_response_started_resets_only_that_stream(tmp_path: Path) -> None:
    async with echo_upstream() as up, gateway(_config(tmp_path, up, "trap_in_callback")) as gw:
        client = await Client.connect(port_of(gw))
        await client.send_raw(b"GET / HTTP/1.1\r\nhost: a\r\nx-trigger: B\r\n\r\n")
        assert await client.at_eof()  # headers went out, so the failure can only close the connection
        await client.close()
        assert _survivor(await request(port_of(gw), "GET", "/")) == "trap_in_callback"


class _SlowHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(0.15)  # a log sink that blocks (a full pipe, a slow disk)


async def test_time_blocked_in_the_host_does_not_count_against_the_cpu_deadline(tmp_path: Path) -> None:
    logger = logging.getLogger("gateway.wasm.log_then_call")
    handler = _SlowHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        filters = wasm_filter("log_then_call", compile_wat(LOG_THEN_CALL, tmp_path))
        async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
            r = await request(port_of(gw), "GET", "/")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert r.status == 200


@pytest.mark.parametrize(
    ("fixture", "cause"),
    [
        ("configure_false", "proxy_on_configure returned false"),
        ("unknown_import", "proxy_does_not_exist"),
        ("trap_on_vm_start", "unreachable"),
        ("no_abi_marker", "missing or unknown proxy-wasm ABI version"),
    ],
)
async def test_a_plugin_that_cannot_start_rejects_the_config_with_its_yaml_path(
    tmp_path: Path, fixture: str, cause: str
) -> None:
    with pytest.raises(ConfigErrors) as raised:
        async with gateway(_config(tmp_path, 9, fixture)):
            pass
    [error] = raised.value.errors
    assert error.path == f"{FILTER_PATH}.config"
    assert f"wasm plugin '{fixture}'" in str(error) and cause in str(error)


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args], cwd=ROOT, env=env, text=True, stderr=subprocess.PIPE
    )


def test_validate_and_serve_modes_reject_a_plugin_that_refuses_its_configuration(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(_config(tmp_path, 9, "configure_false"))
    for mode in ("validate", "serve"):
        process = _cli("-c", str(config), "--mode", mode)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 1, stderr
        assert f"{FILTER_PATH}.config" in stderr
        assert "wasm plugin 'configure_false'" in stderr and "proxy_on_configure returned false" in stderr


async def test_the_process_outlives_its_plugins_failures(tmp_path: Path) -> None:
    """A real gateway process: a trap, a deadline (fail-open) and a memory bomb later, it still serves."""
    filters = "".join(
        wasm_filter(name, compile_wat(ADVERSARIAL / f"{name}.wat", tmp_path), policy=policy)
        for name, policy in (("trap_in_callback", None), ("loop_forever", "FAIL_OPEN"), ("memory_bomb", None))
    )
    async with echo_upstream() as up:
        path = tmp_path / "gateway.yaml"
        path.write_text(basic_config(up, http_filters=filters))
        process = _cli("-c", str(path), "-l", "info")
        log: list[str] = []
        drainer: threading.Thread | None = None
        try:
            port, drainer = await _listening_port(process, log)
            # "h": the first plugin traps. "1": the first ignores it, the second spins and is skipped
            # (fail-open), the third exhausts its memory.
            for trigger in ("h", "1"):
                assert (await request(port, "GET", "/", headers=[("x-trigger", trigger)])).status == 503
            served = await request(port, "GET", "/")
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 30)
            assert process.stderr is not None
            if drainer is not None:
                drainer.join(10)  # the pipe reached EOF when the process exited
            process.stderr.close()
        assert process.returncode == 0
    assert served.status == 200
    headers = served.json()["headers"]
    assert isinstance(headers, dict)
    assert headers["x-survivor"] == "memory_bomb"  # each rebuilt VM marked the request; the last one wins
    for name, message in (("trap_in_callback", "unreachable"), ("loop_forever", "deadline"), ("memory_bomb", "")):
        assert any(f"'{name}'" in line and message in line for line in log), (name, log)


async def _listening_port(process: subprocess.Popen[str], log: list[str]) -> tuple[int, threading.Thread]:
    """The port from the server's ``listener main on 127.0.0.1:<port>`` line; a thread keeps draining stderr
    into ``log`` so the process never blocks on a full pipe."""
    stderr = process.stderr
    assert stderr is not None
    while True:
        line = await asyncio.wait_for(asyncio.to_thread(stderr.readline), 30)
        assert line, "the gateway exited before listening"
        log.append(line)
        if "listener main on" in line:
            drainer = threading.Thread(target=log.extend, args=(stderr,), daemon=True)
            drainer.start()
            return int(line.rsplit(":", 1)[1]), drainer
