"""scripts/build-interop.sh is idempotent and fails loudly."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEROP = ROOT / "tests" / "interop"

pytestmark = [
    pytest.mark.skipif(
        not (shutil.which("node") and shutil.which("npm")),
        reason="node and npm are needed to run scripts/build-interop.sh",
    ),
    pytest.mark.timeout(600),  # a build from scratch takes about a minute on a busy machine
]


def run(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script)], capture_output=True, text=True, timeout=600)


def test_second_run_rebuilds_nothing() -> None:
    script = ROOT / "scripts" / "build-interop.sh"
    assert run(script).returncode == 0
    again = run(script)
    assert again.returncode == 0
    assert "build-interop: 0 built" in again.stdout


def test_compile_error_fails_the_build_and_leaves_no_output(tmp_path: Path) -> None:
    # A copy of the layout the script expects, sharing the installed SDK. The real run first brings that
    # install up to date; copy2 keeps the lock file's mtime, so the copy sees it as current and never runs
    # npm ci through the shared node_modules.
    assert run(ROOT / "scripts" / "build-interop.sh").returncode == 0
    (tmp_path / "scripts").mkdir()
    script = Path(shutil.copy2(ROOT / "scripts" / "build-interop.sh", tmp_path / "scripts"))
    interop = tmp_path / "tests" / "interop"
    (interop / "assemblyscript" / "lib").mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(INTEROP / name, interop / name)
    (interop / "node_modules").symlink_to(INTEROP / "node_modules")
    shutil.copy2(INTEROP / "assemblyscript" / "lib" / "directives.ts", interop / "assemblyscript" / "lib")
    (interop / "assemblyscript" / "broken.ts").write_text("export function broken(: void {}\n")
    result = run(script)
    assert result.returncode != 0
    assert "compiling broken failed" in result.stderr
    assert not list((interop / "build").glob("broken.wasm*"))
