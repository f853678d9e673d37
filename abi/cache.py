"""The on-disk cache of compiled modules: compiling a plugin takes 0.1-2 s, loading it back ~1 ms."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import tempfile
from pathlib import Path

import wasmtime

log = logging.getLogger("abi.vm")

WASMTIME_VERSION = importlib.metadata.version("wasmtime")


class ModuleCache:
    """Compiled modules on disk, keyed by code sha256 + wasmtime version + engine config.

    The directory must be trusted (a serialized artifact is native code): it is created 0700.
    A corrupt or incompatible artifact is deleted and the module recompiled.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @staticmethod
    def default_directory() -> Path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "gateway" / "wasm"

    def load(self, engine: wasmtime.Engine, code: bytes, engine_key: str) -> tuple[wasmtime.Module, bool]:
        """Returns (module, loaded_from_cache). Raises WasmtimeError for invalid wasm."""
        if self.directory is None:
            return wasmtime.Module(engine, code), False
        key = hashlib.sha256(hashlib.sha256(code).digest() + f"|{WASMTIME_VERSION}|{engine_key}".encode()).hexdigest()
        path = self.directory / f"{key}.cwasm"
        if path.exists():
            try:
                return wasmtime.Module.deserialize_file(engine, str(path)), True
            except wasmtime.WasmtimeError as exc:
                log.warning("discarding unusable compiled module %s: %s", path, exc)
                path.unlink(missing_ok=True)
        module = wasmtime.Module(engine, code)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(module.serialize())
            os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
        except OSError as exc:
            log.warning("cannot write the wasm compile cache in %s: %s", self.directory, exc)
        return module, False
