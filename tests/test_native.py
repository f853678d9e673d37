"""The compiled hot path (gateway/native.py): used only when its build matches the sources, all or nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import native

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


_REPORT = "import gateway.native as n, gateway.http.connection as c; print(n.active, c.__file__, n.status)"


def test_the_suite_runs_what_users_run() -> None:
    """scripts/test sets GATEWAY_NATIVE=required: then every compiled module here is the build's binary."""
    if os.environ.get("GATEWAY_NATIVE") != "required":
        pytest.skip("GATEWAY_NATIVE=required is not set (scripts/test sets it)")
    import gateway.http.connection

    assert native.active
    assert gateway.http.connection.__file__ is not None
    assert gateway.http.connection.__file__.startswith(str(native.BUILD_DIR))


def test_gateway_native_0_runs_plain_python() -> None:
    active, path, status = _python(_REPORT, GATEWAY_NATIVE="0").split(" ", 2)
    assert (active, path, status) == ("False", str(ROOT / "gateway/http/connection.py"), "disabled by GATEWAY_NATIVE=0")


def _fake_build(tmp_path: Path, source: Path, digest: str) -> Path:
    build = tmp_path / ".native"
    (build / "lib").mkdir(parents=True)
    (build / "lib" / "mod.so").write_bytes(b"")
    (build / "lib" / "shared.so").write_bytes(b"")
    manifest = {
        "cache_tag": sys.implementation.cache_tag,
        "modules": {"gateway.mod": {"source": source.name, "sha256": digest, "binary": "lib/mod.so"}},
        "shared": {"module": "shared__mypyc", "binary": "lib/shared.so"},
    }
    (build / "manifest.json").write_text(json.dumps(manifest))
    return build


def test_a_build_is_used_only_while_every_source_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    build = _fake_build(tmp_path, source, hashlib.sha256(source.read_bytes()).hexdigest())
    monkeypatch.setattr(native, "ROOT", tmp_path)
    monkeypatch.setattr(native, "BUILD_DIR", build)
    monkeypatch.setattr(native, "MANIFEST", build / "manifest.json")

    binaries, reason = native._usable_build()
    assert reason == ""
    assert binaries == {"gateway.mod": build / "lib/mod.so", "shared__mypyc": build / "lib/shared.so"}

    source.write_text("x = 2\n")  # edited after the build: its binary would run stale code
    assert native._usable_build() == (None, "mod.py changed since the build (run scripts/setup)")

    source.write_text("x = 1\n")
    (build / "lib" / "shared.so").unlink()
    binaries, reason = native._usable_build()
    assert binaries is None and reason.endswith("shared.so is missing (run scripts/setup)")


def test_a_build_for_another_python_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    build = _fake_build(tmp_path, source, hashlib.sha256(source.read_bytes()).hexdigest())
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["cache_tag"] = "cpython-299"
    (build / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(native, "ROOT", tmp_path)
    monkeypatch.setattr(native, "MANIFEST", build / "manifest.json")
    binaries, reason = native._usable_build()
    assert binaries is None and reason.startswith("built for cpython-299")


def test_without_a_build_the_gateway_says_why_and_runs_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "MANIFEST", tmp_path / "manifest.json")
    assert native._usable_build() == (None, "no compiled build (run scripts/setup)")
