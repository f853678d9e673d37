"""configs/plugins.yaml, served as shipped (ports and the upstream address aside): four of our plugins in one chain,
tried with the token its own comment tells users how to mint."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.harness import Client, echo_upstream, gateway, port_of, request
from tests.integration.wasm_support import ROOT, stats, unique_vm_id

CONFIG = ROOT / "configs" / "plugins.yaml"


def _shipped_token() -> str:
    """Runs the one-liner from the config's comment."""
    lines = CONFIG.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# A token for trying it")) + 1
    snippet = "".join(line[len("#   ") :] for line in lines[start:] if line.startswith("#   "))
    command = snippet.removeprefix("python3 -c '").removesuffix("'")
    done = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    return done.stdout.strip()


async def test_the_shipped_plugin_chain() -> None:
    text = CONFIG.read_text().replace("port_value: 10000", "port_value: 0").replace("port_value: 9901", "port_value: 0")
    text = text.replace("vm_id: rate_limit", f"vm_id: {unique_vm_id('rate_limit')}")  # fresh buckets
    token = _shipped_token()
    async with echo_upstream() as up, gateway(text.replace("port_value: 8081", f"port_value: {up}")) as gw:
        port = port_of(gw)
        anonymous = await request(port, "GET", "/")
        client = await Client.connect(port)
        auth = [("authorization", f"Bearer {token}")]
        allowed = [await client.request("GET", f"/items/{i}", headers=auth) for i in range(9)]
        limited = await client.request("GET", "/items/10", headers=auth)
        await client.close()
        counters = await stats(gw)
    assert anonymous.status == 401
    assert [r.status for r in allowed] == [200] * 9
    seen = allowed[0].json()
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["x-user-id"] == "demo"
    assert headers["x-gateway-route"] == "echo"
    assert headers["x-gateway-client"].startswith("127.0.0.1:")
    assert headers["authorization"] == "[redacted]"  # json_redact masked the echo of the token
    assert allowed[0].headers["x-gateway-plugins"] == "rate_limit,jwt_auth,header_rewrite,json_redact"
    assert limited.status == 429  # ten tokens: the anonymous request took one
    assert counters["wasmcustom.rate_limit.limited"] == 1
