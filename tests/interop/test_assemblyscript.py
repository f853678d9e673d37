"""Plugins built with the third-party AssemblyScript SDK (@solo-io/proxy-runtime 0.1.8) run as in Envoy.

The .wasm files are compiled from tests/interop/assemblyscript/ by scripts/build-interop.sh (idempotent, so
running it every session keeps binaries and sources in step); see tests/interop/README.md.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import wasmtime

from abi.errors import PluginLoadError
from abi.testing import CONTINUE, STOP, Harness, Stream
from abi.types import LogLevel

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tests" / "interop" / "build"
PLUGINS = ("headers", "headers_env_abort", "local_response", "http_callout", "metrics", "shared_queue")
REQUEST = {":method": "GET", ":path": "/", ":authority": "example.com", ":scheme": "http"}
# A build from scratch (npm ci + six compiles) takes about a minute on a busy machine; it runs in the first test.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def wasm() -> dict[str, Path]:
    """Paths of the built plugins, (re)building them first when node and npm are available."""
    outputs = {name: BUILD / f"{name}.wasm" for name in PLUGINS}
    if shutil.which("node") and shutil.which("npm"):
        build = subprocess.run(
            [str(ROOT / "scripts" / "build-interop.sh")], capture_output=True, text=True, timeout=600
        )
        assert build.returncode == 0, f"scripts/build-interop.sh failed:\n{build.stdout}\n{build.stderr}"
    elif not all(path.exists() for path in outputs.values()):
        pytest.skip("node and npm are needed to build the AssemblyScript plugins (scripts/build-interop.sh)")
    return outputs


def load(path: Path, root_id: str, configuration: str, **options: object) -> Harness:
    return Harness.load(path, name=root_id, root_id=root_id, configuration=configuration, **options)


def test_sdk_builds_use_the_abi_surface_the_readme_describes(wasm: dict[str, Path]) -> None:
    # Pins which host paths these tests exercise: ABI 0.2.0, the malloc allocator, no start function.
    for name, path in wasm.items():
        module = wasmtime.Module.from_file(wasmtime.Engine(), str(path))
        exports = {e.name for e in module.exports}
        imports = {(i.module, i.name) for i in module.imports}
        assert "proxy_abi_version_0_2_0" in exports and "malloc" in exports, name
        assert not exports & {"proxy_on_memory_allocate", "_start", "_initialize"}, name
        abort = ("env", "abort") if name.endswith("_env_abort") else ("wasi_unstable", "proc_exit")
        assert abort in imports, name


# -- (a) headers ----------------------------------------------------------------------------------------


HEADERS_CONFIG = """
# request side
request-add x-added 1
request-set x-replaced new
request-remove x-secret
# response side
response-add x-response-added yes
response-set server gateway-test
response-remove x-internal
echo x-request-id x-echoed-id
count x-request-header-count
"""


def test_headers_plugin_rewrites_request_headers(wasm: dict[str, Path]) -> None:
    h = load(wasm["headers"], "as_headers", HEADERS_CONFIG)
    s = h.stream()
    decision = s.send_request_headers({**REQUEST, "x-added": "0", "x-replaced": "old", "x-secret": "s3"})
    assert decision == CONTINUE
    assert s.request_header_values("x-added") == ["0", "1"]  # add keeps the existing value
    assert s.request_header_values("x-replaced") == ["new"]
    assert s.request_header("x-secret") is None
    assert s.request_header(":path") == "/"
    assert not h.errors()


def test_headers_plugin_rewrites_response_headers_from_request_values(wasm: dict[str, Path]) -> None:
    h = load(wasm["headers"], "as_headers", HEADERS_CONFIG)
    s = h.stream()
    s.send_request_headers({**REQUEST, "x-request-id": "req-42"})
    decision = s.send_response_headers({":status": "200", "server": "upstream", "x-internal": "1"}, end_of_stream=True)
    assert decision == CONTINUE
    assert s.response_header("x-response-added") == "yes"
    assert s.response_header_values("server") == ["gateway-test"]
    assert s.response_header("x-internal") is None
    assert s.response_header("x-echoed-id") == "req-42"
    assert s.response_header("x-request-header-count") == "5"  # 4 pseudo-headers + x-request-id
    s.complete()
    assert not h.errors()


def test_headers_plugin_keeps_per_stream_state_apart(wasm: dict[str, Path]) -> None:
    h = load(wasm["headers"], "as_headers", HEADERS_CONFIG)
    first, second, third = h.stream(), h.stream(), h.stream()
    first.send_request_headers({**REQUEST, "x-request-id": "one"})
    second.send_request_headers({**REQUEST, "x-request-id": "two"})
    third.send_request_headers(REQUEST)
    for s in (second, first, third):
        s.send_response_headers({":status": "200"}, end_of_stream=True)
        s.complete()
    assert first.response_header("x-echoed-id") == "one"
    assert second.response_header("x-echoed-id") == "two"
    assert third.response_header("x-echoed-id") is None  # absent request header: nothing echoed
    assert not h.errors()


def test_headers_plugin_rejecting_its_configuration_is_a_load_error(wasm: dict[str, Path]) -> None:
    with pytest.raises(PluginLoadError, match=r"'as_headers'.*proxy_on_configure returned false"):
        load(wasm["headers"], "as_headers", "request-add x-ok 1\nrequest-rename x-a x-b")


def test_unregistered_root_id_is_a_load_error(wasm: dict[str, Path]) -> None:
    # The SDK finds its root context through the plugin_root_id property and throws when none matches.
    with pytest.raises(PluginLoadError, match="'wrong_root'") as error:
        Harness.load(wasm["headers"], name="wrong_root", root_id="wrong_root", configuration="count x-n")
    assert error.value.cause.startswith("trap during start/configure")


def test_env_abort_message_reaches_the_load_error(wasm: dict[str, Path]) -> None:
    # Built without --use abort=abort_proc_exit: AssemblyScript's env.abort carries the exception text.
    with pytest.raises(PluginLoadError, match="abort: Missing root context factory for root id: wrong_root"):
        Harness.load(wasm["headers_env_abort"], name="p", root_id="wrong_root", configuration="count x-n")


def test_env_abort_build_works_like_the_proc_exit_build(wasm: dict[str, Path]) -> None:
    h = load(wasm["headers_env_abort"], "as_headers", "request-set x-via as-env-abort")
    s = h.stream()
    assert s.send_request_headers(REQUEST) == CONTINUE
    assert s.request_header("x-via") == "as-env-abort"


def test_empty_configuration_trips_the_sdk_bug_and_is_rejected(wasm: dict[str, Path]) -> None:
    # SDK 0.1.8 dereferences the (0, 0) result of reading an empty configuration (see README): the trap must
    # surface as a clean configuration error, not a crash.
    with pytest.raises(PluginLoadError, match=r"'as_headers'.*during start/configure"):
        load(wasm["headers"], "as_headers", "")


# -- (b) local response ---------------------------------------------------------------------------------


DENY_CONFIG = """
deny-header x-forbidden
deny-path /admin
status 451
body unavailable for legal reasons
reply-header x-denied-by as_local_response
reply-header cache-control no-store
"""


def test_local_response_plugin_lets_other_requests_through(wasm: dict[str, Path]) -> None:
    h = load(wasm["local_response"], "as_local_response", DENY_CONFIG)
    s = h.stream()
    assert s.send_request_headers({**REQUEST, ":path": "/public"}) == CONTINUE
    assert s.send_response_headers({":status": "200"}, end_of_stream=True) == CONTINUE
    s.complete()
    assert s.local_reply is None
    assert s.status == 200
    assert not h.errors()


@pytest.mark.parametrize("extra", [{":path": "/admin/users"}, {"x-forbidden": "1"}])
def test_local_response_plugin_denies_with_configured_reply(wasm: dict[str, Path], extra: dict[str, str]) -> None:
    h = load(wasm["local_response"], "as_local_response", DENY_CONFIG)
    s = h.stream()
    assert s.send_request_headers({**REQUEST, **extra}) == STOP
    reply = s.local_reply
    assert reply is not None
    assert reply.status == 451
    assert reply.body == b"unavailable for legal reasons"
    assert reply.headers == [(b"x-denied-by", b"as_local_response"), (b"cache-control", b"no-store")]
    assert reply.grpc_status is None  # the SDK passes InvalidCode (-1): no grpc-status
    assert reply.details == "denied_by_as_local_response"  # whitespace replaced, as Envoy does
    # The client sees that reply, after it went through the plugin's own response path.
    assert s.status == 451
    assert s.response_header("x-denied-by") == "as_local_response"
    assert s.forwarded_response_body == b"unavailable for legal reasons"
    assert s.continued == [0, 0]  # the request never reaches the upstream
    s.complete()
    assert h.log_messages(LogLevel.INFO) == [f"local_response: denying {extra.get(':path', '/')}"]
    assert not h.errors()


# -- (c) HTTP callout -----------------------------------------------------------------------------------


CALLOUT_CONFIG = """
cluster authz
path /check
authority authz.internal
timeout 250
forward-header authorization
result-header x-auth-user
"""


def start_callout(wasm: dict[str, Path], **headers: str) -> tuple[Harness, Stream]:
    h = load(wasm["http_callout"], "as_http_callout", CALLOUT_CONFIG, clusters={"authz"})
    s = h.stream()
    assert s.send_request_headers({**REQUEST, ":path": "/orders", **headers}) == STOP
    return h, s


def test_callout_carries_the_configured_request(wasm: dict[str, Path]) -> None:
    h, _ = start_callout(wasm, authorization="Bearer t0ken")
    [call] = h.http_calls
    assert call.cluster == "authz"
    assert call.request.headers == [
        (b":method", b"GET"),
        (b":path", b"/check"),
        (b":authority", b"authz.internal"),
        (b"x-original-path", b"/orders"),
        (b"authorization", b"Bearer t0ken"),
    ]
    assert call.request.body == b""
    assert call.request.timeout_ms == 250


def test_callout_200_allows_and_adds_the_answer_as_a_header(wasm: dict[str, Path]) -> None:
    h, s = start_callout(wasm, authorization="Bearer t0ken")
    # Body data arriving while the plugin waits is held, then forwarded with the resumed request.
    assert s.send_request_body(b"payload", end_of_stream=True) is None
    assert s.forwarded_request_body == b""
    h.http_calls[0].respond(200, {"content-type": "text/plain"}, b"alice")
    assert s.continued == [1, 0]
    assert s.request_header("x-auth-user") == "alice"
    assert s.forwarded_request_body == b"payload"
    assert s.local_reply is None
    s.send_response_headers({":status": "200"}, end_of_stream=True)
    s.complete()
    assert not h.errors()


def test_callout_non_200_denies_with_the_services_status(wasm: dict[str, Path]) -> None:
    h, s = start_callout(wasm)
    h.http_calls[0].respond(401, body=b"no")
    assert s.continued == [0, 0]
    assert s.local_reply is not None
    assert (s.local_reply.status, s.local_reply.body) == (403, b"denied by authorization service")
    assert s.response_header("x-auth-status") == "401"
    assert s.request_header("x-auth-user") is None


def test_callout_reset_denies_with_503(wasm: dict[str, Path]) -> None:
    h, s = start_callout(wasm)
    h.http_calls[0].fail()
    assert s.local_reply is not None
    assert (s.local_reply.status, s.local_reply.body) == (503, b"authorization service unavailable")


def test_callout_timeout_is_answered_504_and_denies(wasm: dict[str, Path]) -> None:
    h, s = start_callout(wasm)
    h.advance_time(0.2)
    assert s.local_reply is None  # still waiting within the 250 ms timeout
    h.advance_time(0.1)
    assert s.local_reply is not None and s.local_reply.status == 403
    assert s.response_header("x-auth-status") == "504"


def test_callout_to_unknown_cluster_fails_the_request(wasm: dict[str, Path]) -> None:
    h = load(wasm["http_callout"], "as_http_callout", CALLOUT_CONFIG, clusters={"other"})
    s = h.stream()
    assert s.send_request_headers(REQUEST) == STOP
    assert h.http_calls == []
    assert s.local_reply is not None and s.local_reply.status == 500
    assert "proxy_http_call failed with status 2" in h.log_messages(LogLevel.ERROR)[0]  # BAD_ARGUMENT


def test_callout_answers_reach_their_own_streams(wasm: dict[str, Path]) -> None:
    h = load(wasm["http_callout"], "as_http_callout", CALLOUT_CONFIG, clusters={"authz"})
    streams = [h.stream() for _ in range(3)]
    for number, s in enumerate(streams):
        s.send_request_headers({**REQUEST, "authorization": f"user-{number}"})
    calls = h.http_calls
    calls[2].respond(200, body=b"carol")
    calls[0].respond(403)
    calls[1].respond(200, body=b"bob")
    assert [s.request_header("x-auth-user") for s in streams] == [None, "bob", "carol"]
    assert [s.local_reply.status if s.local_reply else None for s in streams] == [403, None, None]


# -- (d) metrics and ticks ------------------------------------------------------------------------------


def test_metrics_plugin_counts_requests_active_streams_and_ticks(wasm: dict[str, Path]) -> None:
    h = load(wasm["metrics"], "as_metrics", "prefix interop\ntick-ms 100")
    streams = [h.stream() for _ in range(3)]
    for s in streams:
        s.send_request_headers(REQUEST)
    assert h.metric("interop.requests") == 3
    assert h.metric("interop.active") == 3
    streams[0].send_response_headers({":status": "200"}, end_of_stream=True)
    streams[0].complete()
    assert h.metric("interop.active") == 2
    assert h.metric("interop.ticks") == 0
    h.advance_time(0.35)
    assert h.metric("interop.ticks") == 3
    assert not h.errors()


# -- (e) shared data and queues -------------------------------------------------------------------------


def test_shared_counter_is_shared_by_the_vms_of_one_vm_id(wasm: dict[str, Path]) -> None:
    vm_id = f"interop-{uuid.uuid4().hex}"  # shared data is process-wide: keep other tests' keys apart
    config = "key requests"  # (never empty: see the SDK bug above)
    first, second = (load(wasm["shared_queue"], "as_shared_queue", config, vm_id=vm_id) for _ in range(2))
    other = load(wasm["shared_queue"], "as_shared_queue", config, vm_id=f"{vm_id}-other")
    counts = []
    for h in (first, second, first, second, other):
        s = h.stream()
        s.send_request_headers(REQUEST)
        counts.append(s.request_header("x-shared-count"))
    assert counts == ["1", "2", "3", "4", "1"]  # two VMs, one counter; another vm_id has its own


def test_shared_queue_delivers_to_the_registering_root(wasm: dict[str, Path]) -> None:
    h = load(wasm["shared_queue"], "as_shared_queue", "queue paths", vm_id=f"interop-{uuid.uuid4().hex}")
    for path in ("/a", "/b", "/c"):
        h.stream().send_request_headers({**REQUEST, ":path": path})
    assert h.metric("as_shared.dequeued") == 0  # delivery is posted, never re-entrant
    h.run_pending()
    assert h.metric("as_shared.dequeued") == 3
    assert h.log_messages(LogLevel.INFO) == [f"shared_queue: dequeued {p}" for p in ("/a", "/b", "/c")]
    assert not h.errors()
