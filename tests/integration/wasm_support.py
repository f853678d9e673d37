"""What the Wasm integration tests share: Envoy-shaped filter YAML, WAT fixtures compiled at run time, the admin
endpoints, and a real HTTP service on 127.0.0.1 (an authorization server) that callouts reach through a cluster."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h11
import wasmtime

from gateway.server.run import Server
from tests.integration.harness import Response, request

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
WAT = ROOT / "tests" / "wasm"
_vm_ids = itertools.count()


def plugin(name: str) -> Path:
    return PLUGINS / name / f"{name}.wasm"


def unique_vm_id(prefix: str) -> str:
    """Shared data is process-wide per vm_id: a fresh id keeps tests from seeing each other's state."""
    return f"{prefix}-{next(_vm_ids)}"


def compile_wat(source: Path | str, directory: Path) -> Path:
    """A WAT file (or WAT text) compiled to ``directory``; returns the .wasm path."""
    text = source.read_text() if isinstance(source, Path) else source
    name = source.stem if isinstance(source, Path) else f"inline{next(_vm_ids)}"
    out = directory / f"{name}.wasm"
    out.write_bytes(wasmtime.wat2wasm(text))
    return out


def wasm_filter(
    name: str,
    code: Path,
    configuration: str | dict[str, object] = "",
    *,
    root_id: str | None = None,
    vm_id: str | None = None,
    policy: str | None = None,
    vm_configuration: str | None = None,
) -> str:
    """One ``envoy.filters.http.wasm`` entry of ``http_filters``, indented for ``basic_config``."""
    text = configuration if isinstance(configuration, str) else json.dumps(configuration)
    lines = [
        "- name: envoy.filters.http.wasm",
        "  typed_config:",
        '    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
        "    config:",
        f"      name: {name}",
        f"      root_id: {root_id if root_id is not None else name}",
        "      configuration:",
        '        "@type": type.googleapis.com/google.protobuf.StringValue',
        f"        value: {json.dumps(text)}",
        "      vm_config:",
        f"        vm_id: {vm_id or unique_vm_id(name)}",
        "        runtime: envoy.wasm.runtime.v8",
        f"        code: {{local: {{filename: {json.dumps(str(code))}}}}}",
    ]
    if vm_configuration is not None:
        lines += [
            "        configuration:",
            '          "@type": type.googleapis.com/google.protobuf.StringValue',
            f"          value: {json.dumps(vm_configuration)}",
        ]
    if policy is not None:
        lines.append(f"      failure_policy: {policy}")
    return "".join(f"          {line}\n" for line in lines)


ADMIN = "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"


def cluster(name: str, port: int) -> str:
    """A STATIC cluster entry for ``basic_config(clusters=...)``."""
    return f"""  - name: {name}
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}}}
"""


async def admin_get(server: Server, path: str) -> Response:
    assert server.admin is not None
    return await request(server.admin.address[1], "GET", path)


async def stats(server: Server) -> dict[str, int]:
    """``/stats`` counters and gauges by name (histogram lines are left out)."""
    text = (await admin_get(server, "/stats")).body.decode()
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.lstrip("-").isdigit():
            values[name] = int(value)
    return values


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    """Poll until ``check`` holds (for effects that happen after a response, such as proxy_on_log)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay_s: float = 0.0
    trailers: list[tuple[str, str]] = field(default_factory=list)  # sent chunked, with the body in two chunks


class _ServiceProtocol(asyncio.Protocol):
    """HTTP/1.1 with h11 (independent of the gateway's codecs): each request gets ``handler``'s answer."""

    def __init__(self, service: HttpService) -> None:
        self._service = service
        self._conn = h11.Connection(h11.SERVER)
        self._transport: asyncio.Transport | None = None
        self._request: h11.Request | None = None
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._conn.receive_data(data)
        self._drain_events()

    def _drain_events(self) -> None:
        while self._conn.their_state is not h11.DONE:
            event = self._conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._request, self._body = event, bytearray()
            elif isinstance(event, h11.Data):
                self._body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._answer()
                return
            elif isinstance(event, h11.ConnectionClosed):
                return

    def _answer(self) -> None:
        req = self._request
        assert req is not None
        seen = Seen(
            req.method.decode(),
            req.target.decode(),
            {k.decode(): v.decode() for k, v in req.headers},
            bytes(self._body),
        )
        self._service.seen.append(seen)
        answer = self._service.handler(seen)
        if answer.delay_s:
            asyncio.get_running_loop().call_later(answer.delay_s, self._send, answer)
        else:
            self._send(answer)

    def _send(self, answer: Answer) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        framing = [("transfer-encoding", "chunked")] if answer.trailers else [("content-length", str(len(answer.body)))]
        out = self._conn.send(h11.Response(status_code=answer.status, headers=[*answer.headers, *framing])) or b""
        half = len(answer.body) // 2 if answer.trailers else len(answer.body)
        for chunk in (answer.body[:half], answer.body[half:]):
            if chunk:
                out += self._conn.send(h11.Data(data=chunk)) or b""
        out += self._conn.send(h11.EndOfMessage(headers=answer.trailers)) or b""
        transport.write(out)
        if self._conn.our_state is h11.MUST_CLOSE:
            transport.close()
            return
        self._conn.start_next_cycle()
        self._drain_events()


@dataclass
class HttpService:
    handler: Callable[[Seen], Answer]
    seen: list[Seen] = field(default_factory=list)
    port: int = 0


@asynccontextmanager
async def http_service(handler: Callable[[Seen], Answer]) -> AsyncIterator[HttpService]:
    """A real HTTP server on 127.0.0.1 answering each request with ``handler(request)``."""
    service = HttpService(handler)
    server = await asyncio.get_running_loop().create_server(lambda: _ServiceProtocol(service), "127.0.0.1", 0)
    service.port = server.sockets[0].getsockname()[1]
    try:
        yield service
    finally:
        server.close()
        await server.wait_closed()
