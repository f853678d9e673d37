"""Header rules the connection manager applies on the way in and out, as Envoy's does.

Request: hop-by-hop headers dropped (an allowed Upgrade keeps its two), ``:scheme`` from the connection,
``x-forwarded-for``/``x-forwarded-proto`` per ``use_remote_address`` and ``xff_num_trusted_hops``, ``x-request-id``
generated when absent (replaced at the edge unless ``preserve_external_request_id``).
Response: hop-by-hop headers dropped, ``server`` per ``server_header_transformation``, ``x-request-id`` echoed
when configured, ``via`` appended when configured.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Final

from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.http.settings import HcmSettings, ServerHeaderTransformation

# Connection-specific headers (RFC 9110 7.6.1) and the legacy ones Envoy also removes.
_HOP_BY_HOP: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te", b"trailer")
)


# Connection tokens that nominate no other header, and the usual Connection values (as peers spell them) made of one.
_NOT_NOMINATED: Final = frozenset((b"upgrade", b"close", b"keep-alive", b""))
_USUAL_NOT_NOMINATING: Final = frozenset((b"keep-alive", b"Keep-Alive", b"close", b"Close"))


def _strip_hop_by_hop(headers: HeaderMap, keep_upgrade: bool) -> None:
    # In place, from the end: no new list and no pair made again (the compiled build would box each kept pair
    # anew). One pass for the usual case; a second only when Connection nominates other headers.
    pairs = headers.pairs()
    nominated: set[bytes] | None = None
    i = len(pairs) - 1
    while i >= 0:
        name = pairs[i][0]
        if name in _HOP_BY_HOP:
            if name == b"connection":
                value = pairs[i][1]
                if value not in _USUAL_NOT_NOMINATING:  # a set lookup spares lower() (a method call) the usual value
                    lowered = value.lower()
                    if lowered not in _NOT_NOMINATED:  # not ``keep-alive`` or ``close``: a token list
                        listed = {token.strip() for token in lowered.split(b",")} - _NOT_NOMINATED
                        nominated = listed if nominated is None else nominated | listed
                del pairs[i]
            elif not _kept_anyway(pairs[i], keep_upgrade):
                del pairs[i]
        i -= 1
    if nominated:
        i = len(pairs) - 1
        while i >= 0:
            if pairs[i][0] in nominated and not _kept_anyway(pairs[i], keep_upgrade):
                del pairs[i]
            i -= 1
    if keep_upgrade:
        pairs.append((b"connection", b"upgrade"))


def _kept_anyway(pair: tuple[bytes, bytes], keep_upgrade: bool) -> bool:
    """Hop-by-hop fields that still pass: ``te: trailers``, and Upgrade when the upgrade goes through."""
    name = pair[0]
    return (name == b"te" and pair[1].strip().lower() == b"trailers") or (keep_upgrade and name == b"upgrade")


def is_upgrade_request(headers: HeaderMap) -> bool:
    if b"upgrade" not in headers:
        return False
    connection = headers.joined(b"connection")
    return connection is not None and b"upgrade" in connection.lower()


# Headers that steer Envoy itself; from an external client they are dropped (Envoy's cleanEnvoyHeaders).
_ENVOY_INTERNAL_HEADERS: Final = frozenset(
    (
        b"x-envoy-decorator-operation",
        b"x-envoy-downstream-service-cluster",
        b"x-envoy-downstream-service-node",
        b"x-envoy-expected-rq-timeout-ms",
        b"x-envoy-external-address",
        b"x-envoy-force-trace",
        b"x-envoy-hedge-on-per-try-timeout",
        b"x-envoy-internal",
        b"x-envoy-ip-tags",
        b"x-envoy-max-retries",
        b"x-envoy-original-path",
        b"x-envoy-retriable-header-names",
        b"x-envoy-retriable-status-codes",
        b"x-envoy-retry-grpc-on",
        b"x-envoy-retry-on",
        b"x-envoy-upstream-alt-stat-name",
        b"x-envoy-upstream-rq-per-try-timeout-ms",
        b"x-envoy-upstream-rq-timeout-alt-response",
        b"x-envoy-upstream-rq-timeout-ms",
    )
)


_INTERNAL_NETWORKS: Final = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7")
)


def _is_internal(ip: str) -> bool:
    """Envoy's classic default: loopback, RFC 1918 and unique-local addresses are internal."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _INTERNAL_NETWORKS)


def _client_address_from_xff(xff: list[bytes], trusted_hops: int) -> str | None:
    """The address ``trusted_hops`` from the right of XFF, Envoy's rule when not using the remote address."""
    if len(xff) == 1 and trusted_hops == 0 and b"," not in xff[0]:
        client = xff[0].strip()  # the usual case: one address, no list to split
        return client.decode("latin-1") if client else None
    parts = [p.strip() for p in b",".join(xff).split(b",") if p.strip()]
    index = len(parts) - 1 - trusted_hops
    if index < 0:
        return None
    return parts[index].decode("latin-1")


# The variant nibble of a version 4 UUID (binary 10xx), from any random hex digit (as its byte).
_VARIANT: Final = {ord(c): b"89ab"[int(c, 16) & 3 :][:1] for c in "0123456789abcdef"}


class _RandomHex:
    """Random hex digits (ASCII bytes) read from the OS in batches: one getrandom() per 128 request ids, not one
    each."""

    __slots__ = ("digits", "used")

    def __init__(self) -> None:
        self.digits = b""
        self.used = 0

    def forget(self) -> None:
        """A forked child must not hand out the ids its parent will."""
        self.digits = b""
        self.used = 0


_random: Final = _RandomHex()
os.register_at_fork(after_in_child=_random.forget)


def new_request_id() -> bytes:
    """A random (version 4) UUID in its text form; cheaper than building a ``uuid.UUID`` per request."""
    r = _random
    i = r.used
    if i + 32 > len(r.digits):
        r.digits = os.urandom(2048).hex().encode()
        i = 0
    r.used = i + 32
    d = r.digits
    # One join of byte slices (compiled primitives): cheaper than formatting a str and encoding it.
    return b"-".join(
        (
            d[i : i + 8],
            d[i + 8 : i + 12],
            b"4" + d[i + 13 : i + 16],
            _VARIANT[d[i + 16]] + d[i + 17 : i + 20],
            d[i + 20 : i + 32],
        )
    )


# What the request side reads or rewrites: one pass over the map finds all of it.
_REQUEST_WATCH: Final = _HOP_BY_HOP | {b"x-forwarded-for", b"x-forwarded-proto", b"x-request-id", b"expect"}


def _scan_request(pairs: list[tuple[bytes, bytes]]) -> tuple[bool, list[bytes], bool, bytes | None, bytes | None]:
    """(any hop-by-hop header, x-forwarded-for values, x-forwarded-proto present, first x-request-id, expect)."""
    hop = has_xfp = False
    xff: list[bytes] = []
    request_id = expect = None
    for name, value in pairs:
        if name in _REQUEST_WATCH:
            if name == b"x-forwarded-for":
                xff.append(value)
            elif name == b"x-request-id":
                if request_id is None:
                    request_id = value
            elif name == b"x-forwarded-proto":
                has_xfp = True
            elif name == b"expect":
                expect = value
            else:
                hop = True
    return hop, xff, has_xfp, request_id, expect


def mutate_request_headers(headers: HeaderMap, info: StreamInfo, settings: HcmSettings) -> tuple[bytes | None, bool]:
    """Apply the request rules; returns the upgrade asked for (None: not an upgrade request) and whether the
    client expects 100-continue (the expectation is removed: Envoy answers it itself)."""
    hop, xff, has_xfp, request_id, expect = _scan_request(headers.pairs())
    upgrade = None
    if hop:  # Upgrade and Connection are hop-by-hop: no hop-by-hop header, no upgrade
        upgrade = headers.get(b"upgrade") if is_upgrade_request(headers) else None
        _strip_hop_by_hop(headers, keep_upgrade=upgrade is not None)
        # Connection may have named any header (x-forwarded-for too): look again at what is left.
        _, xff, has_xfp, request_id, expect = _scan_request(headers.pairs())
    expect_continue = expect is not None and expect.lower() == b"100-continue"
    if expect_continue:
        headers.remove(b"expect")
    conn = info.connection
    scheme = b"https" if conn.tls else b"http"
    if headers.get(b":scheme") != scheme:
        headers.set(b":scheme", scheme)
    peer_ip = conn.remote_address[0]
    external = False
    if settings.use_remote_address:
        info.downstream_remote_address = conn.remote_address
        external = not _is_internal(peer_ip)
        if not external:
            headers.set(b"x-envoy-internal", b"true")
        else:
            if any(name in _ENVOY_INTERNAL_HEADERS for name, _ in headers.pairs()):
                headers.replace_all([p for p in headers.pairs() if p[0] not in _ENVOY_INTERNAL_HEADERS])
            headers.set(b"x-envoy-external-address", peer_ip.encode())
        if not settings.skip_xff_append:
            ip = peer_ip.encode()
            headers.set(b"x-forwarded-for", b",".join(xff) + b"," + ip if xff else ip)
        headers.set(b"x-forwarded-proto", scheme)
    else:
        client = _client_address_from_xff(xff, settings.xff_num_trusted_hops) if xff else None
        info.downstream_remote_address = (client, 0) if client else conn.remote_address
        if not has_xfp:
            headers.pairs().append((b"x-forwarded-proto", scheme))  # add() of a regular header, one call less
    if settings.generate_request_id:
        if request_id is None:
            request_id = new_request_id()
            headers.pairs().append((b"x-request-id", request_id))
        elif external and not settings.preserve_external_request_id:
            request_id = new_request_id()  # the edge does not trust a request id from an external client
            headers.set(b"x-request-id", request_id)
        info.request_id = request_id.decode("latin-1")
    if settings.via:
        _append_via(headers, settings.via)
    return upgrade, expect_continue


def mutate_response_headers(headers: HeaderMap, status: int, info: StreamInfo, settings: HcmSettings) -> None:
    for name, _ in headers.pairs():
        if name in _HOP_BY_HOP:
            _strip_hop_by_hop(headers, keep_upgrade=status == 101)
            break
    transformation = settings.server_header_transformation
    if transformation is ServerHeaderTransformation.OVERWRITE:
        headers.set(b"server", settings.server_name)  # appended when absent
    elif transformation is ServerHeaderTransformation.APPEND_IF_ABSENT and b"server" not in headers:
        headers.add(b"server", settings.server_name)
    if settings.always_set_request_id_in_response and info.request_id:
        headers.set(b"x-request-id", info.request_id.encode())
    if settings.via:
        _append_via(headers, settings.via)


def _append_via(headers: HeaderMap, via: bytes) -> None:
    existing = headers.joined(b"via")
    headers.set(b"via", existing + b", " + via if existing else via)
