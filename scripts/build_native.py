"""Compile the per-request modules with mypyc into .native/ (see gateway/native.py for how they are loaded).

    .venv/bin/python scripts/build_native.py [--root TREE] [--force]

Does nothing when the manifest already matches every source. The compiled modules keep their Python semantics
(mypyc checks the declared types at run time, so a type error the annotations hide becomes a TypeError); the
gateway runs them as plain Python when the build is missing or stale. Needs gcc and the Python headers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

# What a proxied request runs through, in the order of its life. Cold modules (config, admin, Wasm setup and
# callouts) stay Python: compiling them would cost build time and buy nothing.
MODULES = (
    "gateway/core/clock.py",
    "gateway/core/headers.py",
    "gateway/core/events.py",
    "gateway/core/stream_info.py",
    "gateway/core/write_batch.py",
    "gateway/stats/store.py",
    "gateway/net/connection.py",
    "gateway/codec/http1/common.py",
    "gateway/codec/http1/parser_httptools.py",
    "gateway/codec/http1/server.py",
    "gateway/codec/http1/client.py",
    "gateway/codec/api.py",
    "gateway/http/settings.py",
    "gateway/http/local_reply.py",
    "gateway/http/filter_hooks.py",
    "gateway/http/stats.py",
    "gateway/http/header_policy.py",
    "gateway/http/filter_chain.py",
    "gateway/http/active_stream.py",
    "gateway/http/connection.py",
    "gateway/filters/api.py",
    "gateway/filters/router/matchers.py",
    "gateway/filters/router/table.py",
    "gateway/filters/router/mutation.py",
    "gateway/filters/router/stats.py",
    "gateway/filters/router/timeouts.py",
    "gateway/filters/router/upstream_request.py",
    "gateway/filters/router/filter.py",
    "gateway/upstream/api.py",
    "gateway/upstream/stats.py",
    "gateway/upstream/breakers.py",
    "gateway/upstream/host.py",
    "gateway/upstream/lb.py",
    "gateway/upstream/cluster.py",
    "gateway/upstream/connection.py",
    "gateway/upstream/pool.py",
    "gateway/filters/wasm/attributes.py",
    "gateway/filters/wasm/filter.py",
    "abi/limits.py",
    "abi/stream.py",
    "abi/plugin.py",
    "abi/runtime.py",
    "abi/context.py",
    "abi/vm.py",
    "abi/memory.py",
    "abi/properties.py",
    "abi/exports/headers.py",
    "abi/exports/buffers.py",
    "abi/exports/control.py",
    "abi/exports/properties.py",
    "abi/shared.py",
    "abi/exports/shared_data.py",
    "abi/exports/metrics.py",
)
# C extensions built beside them (module name = path without ".c"); each has a plain-Python twin it replaces.
EXTENSIONS = ("gateway/codec/http1/_scan.c", "abi/_crossing.c", "abi/_memory.c")
GROUP = "gateway_native"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def up_to_date(root: Path) -> bool:
    try:
        manifest = json.loads((root / ".native" / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    modules = manifest.get("modules", {})
    return (
        manifest.get("cache_tag") == sys.implementation.cache_tag
        and sorted(entry["source"] for entry in modules.values()) == sorted(MODULES + EXTENSIONS)
        and all(sha256(root / entry["source"]) == entry["sha256"] for entry in modules.values())
    )


def build(root: Path) -> None:
    # Imported here: a tree that is up to date needs neither mypyc nor setuptools.
    from mypyc.build import mypycify
    from setuptools import Distribution, Extension

    out = root / ".native"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    sources = MODULES + EXTENSIONS
    hashes = {source: sha256(root / source) for source in sources}  # what is compiled, hashed before compiling
    with tempfile.TemporaryDirectory(prefix="gateway-native-") as tmp:
        os.chdir(root)  # mypyc names modules by their paths relative to the working directory
        extensions = mypycify(list(MODULES), opt_level="3", group_name=GROUP, target_dir=f"{tmp}/c")
        extensions += [
            Extension(source.removesuffix(".c").replace("/", "."), [source], extra_compile_args=["-O2", "-std=c11"])
            for source in EXTENSIONS
        ]
        dist = Distribution({"name": "gateway-native", "ext_modules": extensions})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = f"{tmp}/lib"  # type: ignore[attr-defined]
        cmd.build_temp = f"{tmp}/temp"  # type: ignore[attr-defined]
        cmd.parallel = os.cpu_count() or 1  # type: ignore[attr-defined]
        dist.run_command("build_ext")
        staged = Path(tmp) / "staged"
        shutil.copytree(f"{tmp}/lib", staged / "lib")
        modules = {}
        for source in sources:
            stem = source.rsplit(".", 1)[0]
            name = stem.replace("/", ".")
            binary = Path("lib") / (stem + suffix)
            if not (staged / binary).is_file():
                raise SystemExit(f"build_native: mypyc produced no {binary}")
            modules[name] = {"source": source, "sha256": hashes[source], "binary": str(binary)}
        shared = f"{GROUP}__mypyc"
        manifest = {
            "cache_tag": sys.implementation.cache_tag,
            "modules": modules,
            "shared": {"module": shared, "binary": f"lib/{shared}{suffix}"},
        }
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        # Replace the old build only once the new one is complete.
        shutil.rmtree(out, ignore_errors=True)
        shutil.move(str(staged), out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--force", action="store_true", help="rebuild even when the build matches the sources")
    args = parser.parse_args()
    root = args.root.resolve()
    if not args.force and up_to_date(root):
        return
    print(
        f"build_native: compiling {len(MODULES)} modules with mypyc and {len(EXTENSIONS)} in C (about a minute)",
        file=sys.stderr,
        flush=True,
    )
    build(root)


if __name__ == "__main__":
    main()
