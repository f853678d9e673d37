"""What the integration tests share: a gateway in the test's own loop built from YAML, real upstream servers,
and an HTTP/1.1 client that speaks raw bytes (so tests can send malformed requests) and parses with h11 (an
implementation independent of the gateway's own codecs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import h11

from gateway.config import loads
from gateway.devtools.echo import serve as serve_echo
from gateway.server.options import ServerOptions
from gateway.server.run import Server


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        result: dict[str, object] = json.loads(self.body)
        return result


@asynccontextmanager
async def gateway(yaml_text: str, **options: object) -> AsyncIterator[Server]:
    bootstrap = loads(yaml_text)
    server = Server(bootstrap, ServerOptions(config_path=None, **options))  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def port_of(server: Server, index: int = 0) -> int:
    return server.listeners()[index].address[1]


@asynccontextmanager
async def echo_upstream() -> AsyncIterator[int]:
    server = await serve_echo("127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._conn = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(
        self,
        method: str,
        path: str,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        host: str = "example.com",
    ) -> Response:
        all_headers = [("host", host), *(headers or [])]
        if body and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in all_headers):
            all_headers.append(("content-length", str(len(body))))
        raw = f"{method} {path} HTTP/1.1\r\n".encode()
        raw += b"".join(f"{k}: {v}\r\n".encode() for k, v in all_headers) + b"\r\n" + body
        await self.send_raw(raw)
        return await self.read_response(head=method == "HEAD")

    async def read_response(self, head: bool = False, timeout: float = 10.0) -> Response:
        conn = self._conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        if conn.our_state is h11.IDLE:
            # The raw request went out behind h11's back; tell it what the request was so it frames the response.
            conn.send(h11.Request(method="HEAD" if head else "GET", target="/", headers=[("host", "x")]))
            conn.send(h11.EndOfMessage())
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = [(bytes(k), bytes(v)) for k, v in event.headers]
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        return Response(status, {k.decode(): v.decode() for k, v in headers}, bytes(body), headers)

    async def at_eof(self, timeout: float = 5.0) -> bool:
        """True when the server closed the connection (after draining whatever it still sends)."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except (ConnectionError, TimeoutError):
            return False
        return True


async def request(port: int, method: str, path: str, **kwargs: object) -> Response:
    client = await Client.connect(port)
    try:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]
    finally:
        await client.close()


def basic_config(
    upstream_port: int, *, extra_hcm: str = "", routes: str = "", http_filters: str = "", clusters: str = ""
) -> str:
    """A listener on a free port with one route to the ``upstream`` cluster at ``upstream_port``."""
    return f"""
static_resources:
  listeners:
  - name: main
    address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
{extra_hcm}
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
{routes}
              - match: {{prefix: "/"}}
                route: {{cluster: upstream}}
          http_filters:
{http_filters}
          - name: envoy.filters.http.router
  clusters:
  - name: upstream
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream_port}}}}}}}
{clusters}
"""
