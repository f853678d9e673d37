#!/usr/bin/env bash
# Builds the third-party interop plugins: AssemblyScript sources in tests/interop/assemblyscript/*.ts, compiled
# with the SDK pinned in tests/interop/package-lock.json (@solo-io/proxy-runtime 0.1.8, assemblyscript 0.14.13)
# to tests/interop/build/<name>.wasm.
# Idempotent: npm ci runs only when the lock file is newer than the installed tree, and a plugin is recompiled
# only when one of its inputs (its source, the shared lib/, the lock file) is newer than its .wasm.
# Needs node and npm on PATH; exits non-zero on any failure.
set -euo pipefail

interop="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/interop" && pwd)"
src="$interop/assemblyscript"
out="$interop/build"

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "build-interop: $tool not found on PATH" >&2; exit 1; }
done

# npm records the installed tree in node_modules/.package-lock.json; older than the lock file means stale.
if [[ ! -f "$interop/node_modules/.package-lock.json" \
      || "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]]; then
    echo "build-interop: npm ci in $interop"
    (cd "$interop" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

mkdir -p "$out"
asc="$interop/node_modules/.bin/asc"
# Inputs every plugin depends on; this script is one of them, so changed flags rebuild everything.
shared=("$interop/package-lock.json" "$src"/lib/*.ts "${BASH_SOURCE[0]}")
built=0

is_stale() {  # is_stale OUTPUT INPUT... : true when OUTPUT is missing or older than any input
    local target="$1" input
    shift
    [[ -f "$target" ]] || return 0
    for input in "$@"; do
        [[ "$input" -nt "$target" ]] && return 0
    done
    return 1
}

build() {  # build NAME SOURCE [ASC_FLAG...] : compile SOURCE to build/NAME.wasm unless it is up to date
    local name="$1" source="$2" wasm="$out/$1.wasm"
    shift 2
    is_stale "$wasm" "$source" "${shared[@]}" || return 0
    echo "build-interop: $(basename "$source") -> build/$name.wasm"
    # Compile to a temporary file so a failed build never leaves a fresh-looking output behind.
    # (asc 0.14 warns about its own standard library, AS201 in ~lib/number.ts; harmless.)
    if ! (cd "$interop" && "$asc" "$source" --binaryFile "$wasm.tmp" --optimize "$@"); then
        rm -f "$wasm.tmp"
        echo "build-interop: compiling $name failed" >&2
        exit 1
    fi
    mv "$wasm.tmp" "$wasm"
    built=$((built + 1))
}

for source in "$src"/*.ts; do
    # The SDK's documented flag: a `throw` logs and calls wasi_unstable.proc_exit(255).
    build "$(basename "$source" .ts)" "$source" --use abort=abort_proc_exit
done
# Without that flag AssemblyScript imports its own env.abort(message, file, line, column) instead.
build headers_env_abort "$src/headers.ts"
echo "build-interop: $built built, outputs in $out"
