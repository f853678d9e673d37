"""jwt_auth: HS256 verification (signature, exp, nbf, iss, aud), claims forwarded as headers, 401 JSON rejections.

Tokens are minted here with Python's own hmac/hashlib, independently of the plugin's SHA-256 and base64url code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from plugin_support import assert_config_rejected, load

from abi.testing import CONTINUE, Stream

NOW = 1_700_000_000  # the harness's virtual wall clock starts here
SECRET = b"test-secret-of-32-bytes-length!!"
CONFIG: dict[str, Any] = {
    "keys": [{"kid": "k1", "secret_base64url": base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()}],
    "issuer": "https://issuer.example",
    "audiences": ["orders"],
    "claims_to_headers": {"sub": "x-jwt-sub", "scope": "x-jwt-scope", "roles": "x-jwt-roles"},
}
CLAIMS: dict[str, Any] = {
    "iss": "https://issuer.example",
    "aud": ["billing", "orders"],
    "sub": "user-42",
    "scope": "read write",
    "roles": ["admin", "ops"],
    "nbf": NOW - 10,
    "exp": NOW + 60,
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: dict[str, Any], secret: bytes = SECRET, header: dict[str, Any] | None = None) -> str:
    head = header if header is not None else {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    signed = f"{b64url(json.dumps(head).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{b64url(signature)}"


def request(s: Stream, authorization: str | None, **extra: str) -> Any:
    headers = {":method": "GET", ":path": "/orders", ":authority": "api", **extra}
    if authorization is not None:
        headers["authorization"] = authorization
    return s.send_request_headers(headers, end_of_stream=True)


def assert_rejected(s: Stream, error: str, message: str) -> None:
    assert s.local_reply is not None
    assert s.local_reply.status == 401
    assert json.loads(s.local_reply.body) == {"error": error, "message": message}
    assert s.status == 401
    assert s.response_header("content-type") == "application/json"
    assert (s.response_header("www-authenticate") or "").startswith("Bearer")


def test_valid_token_passes_with_claims_as_headers() -> None:
    h = load("jwt_auth", CONFIG)
    s = h.stream()
    spoofed = {"x-jwt-sub": "someone-else"}
    assert request(s, f"Bearer {mint(CLAIMS)}", **spoofed) == CONTINUE
    assert s.local_reply is None
    assert s.request_header_values("x-jwt-sub") == ["user-42"]
    assert s.request_header("x-jwt-scope") == "read write"
    assert s.request_header("x-jwt-roles") == "admin,ops"
    assert s.request_header("authorization") is not None  # forward_token defaults to true
    s.complete()
    assert h.errors() == []


def test_expired_token_gets_401_with_json_body() -> None:
    h = load("jwt_auth", CONFIG)
    s = h.stream()
    request(s, f"Bearer {mint({**CLAIMS, 'exp': NOW - 1})}")
    assert_rejected(s, "invalid_token", "token expired")
    assert 'error="invalid_token"' in (s.response_header("www-authenticate") or "")


def test_token_expires_as_the_clock_moves() -> None:
    h = load("jwt_auth", CONFIG)
    token = mint(CLAIMS)
    assert request(h.stream(), f"Bearer {token}") == CONTINUE
    h.advance_time(61)
    s = h.stream()
    request(s, f"Bearer {token}")
    assert_rejected(s, "invalid_token", "token expired")


def test_clock_skew_tolerates_recently_expired_tokens() -> None:
    h = load("jwt_auth", {**CONFIG, "clock_skew_seconds": 30})
    assert request(h.stream(), f"Bearer {mint({**CLAIMS, 'exp': NOW - 5})}") == CONTINUE


def test_missing_or_non_bearer_token_is_rejected() -> None:
    h = load("jwt_auth", CONFIG)
    for authorization in (None, "Basic dXNlcjpwYXNz", "Bearer "):
        s = h.stream()
        request(s, authorization)
        assert_rejected(s, "missing_token", "a Bearer token is required")
        assert s.response_header("www-authenticate") == "Bearer"


def test_each_check_rejects_with_its_reason() -> None:
    h = load("jwt_auth", CONFIG)
    cases = {
        mint(CLAIMS, secret=b"wrong-secret"): "invalid signature",
        mint({**CLAIMS, "nbf": NOW + 100}): "token not yet valid",
        mint({**CLAIMS, "iss": "https://evil.example"}): "issuer not accepted",
        mint({**CLAIMS, "aud": "billing"}): "audience not accepted",
        mint(CLAIMS, header={"alg": "none"}): 'unsupported algorithm "none"',
        mint(CLAIMS, header={"alg": "HS256", "kid": "other"}): "invalid signature",
        "not-a-jwt": "malformed token: expected three dot-separated parts",
    }
    for token, message in cases.items():
        s = h.stream()
        request(s, f"Bearer {token}")
        assert_rejected(s, "invalid_token", message)
    tampered = mint(CLAIMS).split(".")
    tampered[1] = b64url(json.dumps({**CLAIMS, "sub": "admin"}).encode())
    s = h.stream()
    request(s, "Bearer " + ".".join(tampered))
    assert_rejected(s, "invalid_token", "invalid signature")


def test_token_can_be_stripped_before_forwarding() -> None:
    h = load("jwt_auth", {**CONFIG, "forward_token": False})
    s = h.stream()
    assert request(s, f"bearer {mint(CLAIMS)}") == CONTINUE
    assert s.request_header("authorization") is None
    assert s.request_header("x-jwt-sub") == "user-42"


def test_bad_configurations_are_rejected_with_a_logged_reason() -> None:
    assert_config_rejected("jwt_auth", {"issuer": "x"}, "at least one key")
    assert_config_rejected("jwt_auth", {"keys": [{"kid": "a"}]}, "secret or secret_base64url")
    assert_config_rejected("jwt_auth", {"keys": [{"secret_base64url": "*"}]}, "invalid base64")
