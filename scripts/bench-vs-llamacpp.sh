#!/usr/bin/env bash
# Benchmark the workbench engine against llama.cpp (llama-cpp-python) on the
# same GGUF model. See bench/README.md.
#
#   scripts/bench-vs-llamacpp.sh [bench_vs_llamacpp.py options...]
#   e.g. scripts/bench-vs-llamacpp.sh --reps 7 --json
#
# Steps (each skipped when already done):
#   1. create the venv bench/.venv        } scripts/llamacpp-venv.sh, shared
#   2. install numpy and llama-cpp-python,  } with scripts/make-test-models.sh
#      built from source natively (-DGGML_NATIVE=ON); this takes several
#      minutes the first time (a build already running is waited for)
#   3. swift build -c release --product workbench
#   4. run scripts/bench_vs_llamacpp.py with the venv's python
#
# Environment:
#   PYTHON                      interpreter used to create the venv (default: python3)
#   LLAMA_CPP_PYTHON_VERSION    llama-cpp-python version to install (default below)
#   BENCH_REINSTALL=1           rebuild llama-cpp-python even if already installed
#   BENCH_SKIP_BUILD=1          do not run swift build (use the existing binary)
#   CMAKE_ARGS                  extra CMake flags appended after
#                               -DGGML_NATIVE=ON -DLLAVA_BUILD=OFF
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/bench/.venv"
VPY="$VENV/bin/python"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-vs-llamacpp: error: %s\n' "$*" >&2; exit 1; }

cd "$REPO_ROOT"

# 1-2. venv, numpy, llama-cpp-python (scripts/llamacpp-venv.sh) -------------
LCV_NAME=bench-vs-llamacpp
# shellcheck source=scripts/llamacpp-venv.sh
source "$REPO_ROOT/scripts/llamacpp-venv.sh"
llamacpp_venv_ensure

# 3. workbench ---------------------------------------------------------------
if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then
    say "skipping swift build (BENCH_SKIP_BUILD=1)"
else
    command -v swift >/dev/null || die "swift not found on PATH"
    say "building workbench (swift build -c release --product workbench)"
    swift build -c release --product workbench || die "swift build failed"
fi
[[ -x "$REPO_ROOT/.build/release/workbench" ]] \
    || die ".build/release/workbench is missing; build it with: swift build -c release --product workbench"

# 4. run ---------------------------------------------------------------------
say "running scripts/bench_vs_llamacpp.py $*"
exec "$VPY" "$REPO_ROOT/scripts/bench_vs_llamacpp.py" "$@"
