#!/usr/bin/env bash
# Runs every fuzz target for a short time on its committed seeds (and the
# regressions kept for it); exits non-zero on the first crash, timeout or
# out-of-memory. CI: `bash fuzz/smoke.sh` from the repository root.
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_TARGETS   targets to run (default: all of `cargo fuzz list`)
#   FUZZ_REGRESSIONS=0  do not replay fuzz/regressions/<target>/ (inputs
#                  that once crashed keytrace, all fixed; replayed by default)
# One fuzz process at a time (libFuzzer's default without -jobs, which
# would move the output into fuzz-N.log files).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

seconds="${FUZZ_SECONDS:-20}"
targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
# A damaged pack's header may claim any size: a failed reservation is the
# reader's answer (it uses try_reserve), not ASan's abort. Allocations that
# succeed are still held to -malloc_limit_mb.
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"

nice -n 10 cargo +nightly fuzz build
for t in $targets; do
    corpus="$(mktemp -d)"
    dirs=("$corpus" "fuzz/seeds/$t")
    if [ "${FUZZ_REGRESSIONS:-1}" = 1 ] && [ -d "fuzz/regressions/$t" ]; then
        dirs+=("fuzz/regressions/$t")
    fi
    extra=()
    case "$t" in
        pack) extra=(-malloc_limit_mb=256) ;;
    esac
    echo "== fuzz $t (${seconds}s)"
    # The corpus directory comes first: new inputs go there, not into the
    # committed seeds.
    nice -n 10 cargo +nightly fuzz run "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 \
        -print_final_stats=1 "${extra[@]}"
    rm -rf "$corpus"
done
echo "fuzz smoke: every target ran without a crash"
