#!/usr/bin/env bash
# Benchmark the workbench engine against llama.cpp (llama-cpp-python) on the
# same GGUF model. See bench/README.md.
#
#   scripts/bench-vs-llamacpp.sh [bench_vs_llamacpp.py options...]
#   e.g. scripts/bench-vs-llamacpp.sh --reps 7 --json
#
# Steps (each skipped when already done):
#   1. create the venv bench/.venv
#   2. install numpy and llama-cpp-python, built from source natively
#      (-DGGML_NATIVE=ON); this takes several minutes the first time
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

LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/bench/.venv"
VPY="$VENV/bin/python"
MARKER="$VENV/.llama-cpp-python-native-$LLAMA_CPP_PYTHON_VERSION"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-vs-llamacpp: error: %s\n' "$*" >&2; exit 1; }

cd "$REPO_ROOT"

# 1. venv -------------------------------------------------------------------
if [[ ! -x "$VPY" ]]; then
    PYTHON="${PYTHON:-python3}"
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3 (apt-get install python3-venv)"
    say "creating venv at bench/.venv"
    "$PYTHON" -m venv "$VENV" || die "could not create venv (on Debian: apt-get install python3-venv)"
    "$VPY" -m pip install --quiet --upgrade pip
else
    say "venv bench/.venv exists"
fi

# 2. numpy + llama-cpp-python ------------------------------------------------
if ! "$VPY" -c 'import numpy' 2>/dev/null; then
    say "installing numpy"
    "$VPY" -m pip install --quiet numpy
fi

if [[ "${BENCH_REINSTALL:-0}" == 1 || ! -f "$MARKER" ]] \
    || ! "$VPY" -c 'import llama_cpp' 2>/dev/null; then
    command -v cmake >/dev/null || say "note: no system cmake; pip will use the cmake wheel"
    command -v c++ >/dev/null || die "no C++ compiler found (apt-get install build-essential)"
    say "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (native, -DGGML_NATIVE=ON);"
    say "this takes several minutes on a small machine ..."
    rm -f "$VENV"/.llama-cpp-python-native-*
    # --no-binary + --no-cache-dir: never reuse a prebuilt or cached (possibly
    # non-native) wheel, so the library really is compiled for this CPU.
    # LLAVA_BUILD=OFF: skip the multimodal (mtmd) library, unused here; it
    # roughly doubles the build time.
    CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" \
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        "$VPY" -m pip install --upgrade --force-reinstall --no-deps \
            --no-binary llama-cpp-python --no-cache-dir \
            "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
        || die "building llama-cpp-python failed (see the pip output above)"
    # Its pure-Python dependencies, installed normally.
    "$VPY" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
        || die "installing llama-cpp-python's dependencies failed"
    "$VPY" -c 'import llama_cpp' || die "llama_cpp does not import after the build"
    touch "$MARKER"
else
    say "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (native build) already installed"
fi

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
