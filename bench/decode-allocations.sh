#!/usr/bin/env bash
# Shows that a decode step allocates nothing: counts heap allocations of two `workbench bench`
# runs that differ only in the number of generated tokens. Equal counts = no per-token allocation.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/workbench}
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
shim=$(mktemp -d)/count_mallocs.so
cc -shared -fPIC -O2 bench/count_mallocs.c -o "$shim" -ldl
count() { LD_PRELOAD="$shim" "$BIN" bench --threads 2 --reps 1 --prompt-tokens 8 --gen-tokens "$1" 2>&1 >/dev/null | sed -n 's/^mallocs: //p'; }
a=$(count 8)
b=$(count 136)
# bench runs a warm-up and one timed repetition, so the difference covers 2 x 128 decode steps.
echo "allocations with 8 generated tokens: $a; with 136: $b; per decode step: $(( (b - a) / 256 ))"
