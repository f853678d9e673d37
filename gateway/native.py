"""The compiled hot path: loads the mypyc build of the per-request modules when it matches the source.

``scripts/build_native.py`` compiles the modules a request passes through (codecs, connection manager, filter
chain, router, upstream pool, stats) with mypyc into ``.native/`` beside the package, with a manifest of each
source's SHA-256. Importing ``gateway`` calls ``install()``: when every listed source still hashes as built, a
meta path finder serves those modules from the build; otherwise nothing is installed and the same modules run as
plain Python, so an edited source can never run as its stale binary. mypyc puts all modules of a build in one
shared library, which is why it is all or nothing.

``GATEWAY_NATIVE=0`` forces plain Python; ``GATEWAY_NATIVE=required`` makes a missing or stale build an error
(the test command sets it, so CI tests what users run).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / ".native"
MANIFEST = BUILD_DIR / "manifest.json"

# Why the build is not in use ("" when it is); for the startup log and /server_info.
status = "not installed yet"
active = False


class NativeBuildError(RuntimeError):
    """GATEWAY_NATIVE=required and the compiled build cannot be used."""


class _Finder(importlib.abc.MetaPathFinder):
    """Serves the compiled modules (and their shared library) from the build directory."""

    def __init__(self, binaries: dict[str, Path]) -> None:
        self._binaries = binaries

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        binary = self._binaries.get(fullname)
        if binary is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(binary))
        return importlib.util.spec_from_file_location(fullname, binary, loader=loader)


def _usable_build() -> tuple[dict[str, Path] | None, str]:
    """The module -> binary map of a build that matches the sources, or None and the reason."""
    try:
        manifest = json.loads(MANIFEST.read_text())
    except FileNotFoundError:
        return None, "no compiled build (run scripts/setup)"
    except (OSError, ValueError) as error:
        return None, f"unreadable {MANIFEST}: {error}"
    if manifest.get("cache_tag") != sys.implementation.cache_tag:
        return None, f"built for {manifest.get('cache_tag')}, running {sys.implementation.cache_tag}"
    binaries: dict[str, Path] = {}
    for name, entry in manifest["modules"].items():
        source = ROOT / entry["source"]
        try:
            digest = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            return None, f"{entry['source']} is missing"
        if digest != entry["sha256"]:
            return None, f"{entry['source']} changed since the build (run scripts/setup)"
        binaries[name] = BUILD_DIR / entry["binary"]
    binaries[manifest["shared"]["module"]] = BUILD_DIR / manifest["shared"]["binary"]
    missing = [str(path) for path in binaries.values() if not path.is_file()]
    if missing:
        return None, f"{missing[0]} is missing (run scripts/setup)"
    return binaries, ""


def install() -> None:
    """Put the compiled modules in front of their sources, if the build matches them (see the module doc)."""
    global status, active
    mode = os.environ.get("GATEWAY_NATIVE", "")
    if mode == "0":
        status = "disabled by GATEWAY_NATIVE=0"
        return
    binaries, status = _usable_build()
    if binaries is None:
        if mode == "required":
            raise NativeBuildError(f"GATEWAY_NATIVE=required, but the compiled build cannot be used: {status}")
        return
    stale = [name for name in binaries if name in sys.modules]
    if stale:  # imported as Python already (not through the package import): mixing would split module state
        status = f"{stale[0]} was imported before the compiled build was installed"
        if mode == "required":
            raise NativeBuildError(status)
        return
    sys.meta_path.insert(0, _Finder(binaries))
    active = True
