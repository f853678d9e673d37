#!/usr/bin/env bash
# Builds every plugin in plugins/ as a release wasm32-wasi module and copies it to plugins/<name>/<name>.wasm,
# then the SDK's example plugins (sdk-rust/examples/<name>.rs -> sdk-rust/examples/<name>.wasm), printing the build
# time and size of each. Arguments restrict the build to the named plugins (`sdk-examples` names the examples);
# `--test` first runs the native unit tests (`cargo test`) of the SDK and of every plugin with the same toolchain.
#
# Toolchain: $RUSTC / $CARGO if set; otherwise the first rustc (Debian's /usr/bin, then PATH) whose sysroot has
# the wasm32-wasi (Rust < 1.84) or wasm32-wasip1 standard library. On Debian:
#   apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld
# Environment: TARGET to force wasm32-wasi or wasm32-wasip1, JOBS for cargo's -j (default 1).
# Idempotent: cargo rebuilds only what changed and a .wasm is rewritten only when its bytes differ.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugins_dir="$root/plugins"

die() { echo "build-plugins: $*" >&2; exit 1; }

has_target() { # rustc target -> true if its sysroot holds the target's std
    local sysroot
    sysroot="$("$1" --print sysroot 2>/dev/null)" || return 1
    [ -d "$sysroot/lib/rustlib/$2/lib" ]
}

pick_toolchain() {
    local candidates=() rustc target
    if [ -n "${RUSTC:-}" ]; then candidates=("$RUSTC"); else
        [ -x /usr/bin/rustc ] && candidates+=(/usr/bin/rustc)
        command -v rustc >/dev/null 2>&1 && candidates+=("$(command -v rustc)")
    fi
    [ ${#candidates[@]} -gt 0 ] || die "no rustc found; install: apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld"
    for rustc in "${candidates[@]}"; do
        for target in ${TARGET:-wasm32-wasi wasm32-wasip1}; do
            if has_target "$rustc" "$target"; then
                RUSTC="$rustc"; TARGET="$target"; return 0
            fi
        done
    done
    die "no rustc with the ${TARGET:-wasm32-wasi or wasm32-wasip1} standard library (tried: ${candidates[*]});" \
        "install libstd-rust-dev-wasm32, or: rustup target add wasm32-wasip1"
}

pick_toolchain
if [ -z "${CARGO:-}" ]; then
    # Prefer the cargo installed next to the chosen rustc.
    CARGO="$(dirname "$RUSTC")/cargo"
    [ -x "$CARGO" ] || CARGO="$(command -v cargo)" || die "no cargo found"
fi
# The chosen rustc's own rustdoc keeps `cargo doc/test` consistent if someone runs them with this environment.
export RUSTC
if [ -x "$(dirname "$RUSTC")/rustdoc" ]; then export RUSTDOC="$(dirname "$RUSTC")/rustdoc"; fi

unit_tests=0
if [ "${1:-}" = --test ]; then unit_tests=1; shift; fi
if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for manifest in "$plugins_dir"/*/Cargo.toml; do names+=("$(basename "$(dirname "$manifest")")"); done
    names+=(sdk-examples)
fi

# install NAME BUILT DEST START_NS: copies a fresh build if its bytes changed and prints the figures.
install() {
    local ms=$(( ($(date +%s%N) - $4) / 1000000 )) state
    [ -f "$2" ] || die "$1: cargo succeeded but $2 is missing"
    if cmp -s "$2" "$3"; then state="unchanged"; else cp "$2" "$3"; state="updated"; fi
    printf '%-16s %4d.%01d s  %8d bytes  %s (%s)\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)) "$(stat -c %s "$3")" \
        "${3#"$root"/}" "$state"
}

build() { # build MANIFEST ARGS...: a quiet, offline release build for the target
    local manifest="$1"; shift
    # Source paths (kept in panic locations) are made relative to the checkout. A build in another directory can
    # still differ by a few bytes (cargo's crate hashes include a path dependency's location); the tests always
    # run on the fresh build, so the committed .wasm is a convenience, never what is tested.
    RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$root=." \
        "$CARGO" build --offline --release --quiet -j "${JOBS:-1}" --target "$TARGET" --manifest-path "$manifest" "$@"
}

echo "build-plugins: $("$RUSTC" --version), target $TARGET"
status=0
if [ "$unit_tests" = 1 ]; then
    for manifest in "$root/sdk-rust/Cargo.toml" "$plugins_dir/Cargo.toml"; do
        echo "build-plugins: cargo test --manifest-path ${manifest#"$root"/}"
        "$CARGO" test --offline --quiet -j "${JOBS:-1}" --manifest-path "$manifest" || die "unit tests failed"
    done
fi
for name in "${names[@]}"; do
    if [ "$name" = sdk-examples ]; then
        for source in "$root"/sdk-rust/examples/*.rs; do
            example="$(basename "$source" .rs)"
            start=$(date +%s%N)
            if build "$root/sdk-rust/Cargo.toml" --example "$example"; then
                install "$example" "$root/sdk-rust/target/$TARGET/release/examples/$example.wasm" \
                    "$root/sdk-rust/examples/$example.wasm" "$start"
            else
                echo "build-plugins: sdk-rust example $example FAILED" >&2
                status=1
            fi
        done
        continue
    fi
    [ -f "$plugins_dir/$name/Cargo.toml" ] || die "unknown plugin '$name' (no plugins/$name/Cargo.toml)"
    start=$(date +%s%N)
    if build "$plugins_dir/Cargo.toml" -p "$name"; then
        install "$name" "$plugins_dir/target/$TARGET/release/$name.wasm" "$plugins_dir/$name/$name.wasm" "$start"
    else
        echo "build-plugins: $name FAILED" >&2
        status=1
    fi
done
exit $status
