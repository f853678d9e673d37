"""Our Rust plugins through the gateway on real sockets, each in the config shape its README gives: the echo upstream
shows what went upstream, the client sees what came back. ext_authz talks to a real HTTP authorization service
started here on 127.0.0.1 as a cluster."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request
from tests.integration.wasm_support import (
    ADMIN,
    Answer,
    Seen,
    cluster,
    http_service,
    plugin,
    stats,
    wasm_filter,
)


async def test_header_rewrite_edits_both_directions_from_templates() -> None:
    config = {
        "request": {
            "remove": ["x-internal-token"],
            "set": {"x-forwarded-path": "{request.path}"},
            "add": {"x-client": "{source.address}", "x-method": "{request.method}"},
        },
        "response": {
            "remove": ["content-type"],
            "set": {"cache-control": "no-store"},
            "add": {"x-seen": "{source.port}"},
        },
    }
    filters = wasm_filter("header_rewrite", plugin("header_rewrite"), config)
    async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
        client = await Client.connect(port_of(gw))
        r = await client.request("GET", "/a/b?q=1", headers=[("x-internal-token", "secret")])
        local_port = client.writer.get_extra_info("sockname")[1]
        await client.close()
    assert r.status == 200
    upstream = r.json()["headers"]
    assert isinstance(upstream, dict)
    assert "x-internal-token" not in upstream
    assert upstream["x-forwarded-path"] == "/a/b?q=1"
    assert upstream["x-client"] == f"127.0.0.1:{local_port}"
    assert upstream["x-method"] == "GET"
    assert "content-type" not in r.headers
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-seen"] == str(local_port)


SECRET = b"integration-secret-32-bytes-long!"
JWT_CONFIG = {
    "keys": [{"kid": "k1", "secret_base64url": base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()}],
    "issuer": "https://issuer.example",
    "claims_to_headers": {"sub": "x-user-id", "roles": "x-user-roles"},
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: dict[str, Any], secret: bytes = SECRET) -> str:
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    signed = f"{head}.{_b64url(json.dumps(claims).encode())}"
    return f"{signed}.{_b64url(hmac.new(secret, signed.encode(), hashlib.sha256).digest())}"


async def test_jwt_auth_passes_valid_tokens_with_claims_and_rejects_bad_ones_with_401_json() -> None:
    now = int(time.time())
    claims = {"iss": "https://issuer.example", "sub": "user-7", "roles": ["a", "b"], "exp": now + 60}
    filters = wasm_filter("jwt_auth", plugin("jwt_auth"), JWT_CONFIG)
    async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
        port = port_of(gw)
        ok = await request(
            port, "GET", "/", headers=[("authorization", f"Bearer {mint(claims)}"), ("x-user-id", "forged")]
        )
        expired = await request(
            port, "GET", "/", headers=[("authorization", f"Bearer {mint({**claims, 'exp': now - 60})}")]
        )
        forged = await request(
            port, "GET", "/", headers=[("authorization", f"Bearer {mint(claims, b'another-secret')}")]
        )
        missing = await request(port, "GET", "/")
    assert ok.status == 200
    upstream = ok.json()["headers"]
    assert isinstance(upstream, dict)
    assert upstream["x-user-id"] == "user-7"  # the client's own value was removed first
    assert upstream["x-user-roles"] == "a,b"
    for r, error, message in (
        (expired, "invalid_token", "token expired"),
        (forged, "invalid_token", "invalid signature"),
        (missing, "missing_token", "a Bearer token is required"),
    ):
        assert r.status == 401
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"error": error, "message": message}
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]


async def test_rate_limit_answers_429_after_capacity_and_refills_on_the_tick() -> None:
    config = {"capacity": 2, "refill_tokens": 2, "refill_interval_ms": 300, "key_header": "x-api-key"}
    filters = wasm_filter("rate_limit", plugin("rate_limit"), config)
    async with echo_upstream() as up, gateway(ADMIN + basic_config(up, http_filters=filters)) as gw:
        port = port_of(gw)
        client = await Client.connect(port)
        key = [("x-api-key", "k1")]
        first = await client.request("GET", "/", headers=key)
        second = await client.request("GET", "/", headers=key)
        limited = await client.request("GET", "/", headers=key)
        other_key = await client.request("GET", "/", headers=[("x-api-key", "k2")])
        await asyncio.sleep(0.7)  # at least one refill period has been published by the tick
        refilled = await client.request("GET", "/", headers=key)
        await client.close()
        counters = await stats(gw)
    assert [first.status, second.status] == [200, 200]
    assert first.headers["x-ratelimit-limit"] == "2"
    assert [first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]] == ["1", "0"]
    assert limited.status == 429
    assert limited.body == b"rate limit exceeded\n"
    assert limited.headers["retry-after"] == "1"
    assert limited.headers["x-ratelimit-limit"] == "2"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in limited.headers
    assert other_key.status == 200
    assert refilled.status == 200
    assert counters["wasmcustom.rate_limit.allowed"] == 4
    assert counters["wasmcustom.rate_limit.limited"] == 1


def _authz(seen: Seen) -> Answer:
    """Allows ``authorization: allow`` (telling the user id), denies ``deny`` with 401, stalls on ``slow``."""
    token = seen.headers.get("authorization", "")
    if token == "allow":
        return Answer(200, [("x-user-id", "u-1"), ("x-not-copied", "1")])
    if token == "slow":
        return Answer(200, delay_s=3.0)
    return Answer(401, [("www-authenticate", 'Basic realm="t"'), ("x-not-copied", "1")], b"denied by authz\n")


def _authz_config(authz_port: int, up: int, failure_mode_allow: bool) -> str:
    config = {
        "cluster": "authz",
        "path_prefix": "/check",
        "timeout_ms": 200,
        "failure_mode_allow": failure_mode_allow,
        "allowed_upstream_headers": ["x-user-id"],
    }
    filters = wasm_filter("ext_authz", plugin("ext_authz"), config)
    return basic_config(up, http_filters=filters, clusters=cluster("authz", authz_port))


async def test_ext_authz_allows_denies_and_fails_closed_on_timeout() -> None:
    async with (
        http_service(_authz) as authz,
        echo_upstream() as up,
        gateway(_authz_config(authz.port, up, failure_mode_allow=False)) as gw,
    ):
        port = port_of(gw)
        allowed = await request(port, "POST", "/orders?id=3", headers=[("authorization", "allow")], body=b"hi")
        denied = await request(port, "GET", "/orders", headers=[("authorization", "nope")])
        started = time.monotonic()
        timed_out = await request(port, "GET", "/orders", headers=[("authorization", "slow")])
        waited = time.monotonic() - started
    assert allowed.status == 200
    seen_upstream = allowed.json()
    assert seen_upstream["body"] == "hi"  # the body held while the check ran went upstream on resume
    headers = seen_upstream["headers"]
    assert isinstance(headers, dict)
    assert headers["x-user-id"] == "u-1" and "x-not-copied" not in headers
    check = authz.seen[0]
    assert (check.method, check.target) == ("POST", "/check/orders?id=3")
    assert check.headers["authorization"] == "allow"
    assert denied.status == 401 and denied.body == b"denied by authz\n"
    assert denied.headers["www-authenticate"] == 'Basic realm="t"'
    assert "x-not-copied" not in denied.headers
    assert timed_out.status == 403  # status_on_error
    assert 0.15 < waited < 2.0  # the 200 ms callout timeout, not the service's 3 s


async def test_ext_authz_fails_open_when_configured() -> None:
    async with (
        http_service(_authz) as authz,
        echo_upstream() as up,
        gateway(_authz_config(authz.port, up, failure_mode_allow=True)) as gw,
    ):
        port = port_of(gw)
        timed_out = await request(port, "GET", "/x", headers=[("authorization", "slow")])
        denied = await request(port, "GET", "/x", headers=[("authorization", "nope")])
    assert timed_out.status == 200 and timed_out.json()["path"] == "/x"
    assert denied.status == 401  # a denial is not a failure


async def test_json_redact_masks_fields_of_the_upstreams_json() -> None:
    config = {"fields": ["x-password", "headers.x-card"], "mask": "[redacted]"}
    filters = wasm_filter("json_redact", plugin("json_redact"), config)
    async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
        port = port_of(gw)
        r = await request(
            port, "GET", "/profile", headers=[("x-password", "hunter2"), ("x-card", "4111"), ("x-keep", "k")]
        )
        binary = await request(port, "GET", "/", headers=[("x-echo-body-bytes", "5000"), ("x-password", "p")])
    assert r.status == 200
    described = json.loads(r.body)
    assert described["headers"]["x-password"] == "[redacted]"
    assert described["headers"]["x-card"] == "[redacted]"
    assert described["headers"]["x-keep"] == "k"
    assert described["path"] == "/profile"
    assert "content-length" not in r.headers or int(r.headers["content-length"]) == len(r.body)
    assert binary.status == 200 and binary.body == b"x" * 5000  # not JSON: passed byte for byte
