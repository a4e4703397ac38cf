# shellcheck shell=bash
# Shared helper, sourced (not run) by scripts/bench-vs-llamacpp.sh and
# scripts/make-test-models.sh: the venv bench/.venv with numpy and
# llama-cpp-python built from source natively.
#
#   source scripts/llamacpp-venv.sh
#   llamacpp_venv_ensure                      # steps 1-2 below
#   llamacpp_venv_requirements FILE           # pip install -r FILE unless every pin is met
#
# After sourcing: LCV_REPO_ROOT, LCV_VENV (bench/.venv), LCV_PY (its python).
#
# Steps of llamacpp_venv_ensure (each skipped when already done):
#   1. create the venv bench/.venv
#   2. install numpy and llama-cpp-python, built from source natively
#      (-DGGML_NATIVE=ON); this takes several minutes the first time.
#      If another pip is building llama-cpp-python into this venv right now
#      (a concurrent `make test`, `make bench` or a pip started by hand), wait
#      for it to finish instead of starting a second build.
#
# Environment:
#   PYTHON                      interpreter used to create the venv (default: python3)
#   LLAMA_CPP_PYTHON_VERSION    llama-cpp-python version to install (default 0.3.36)
#   BENCH_REINSTALL=1           rebuild llama-cpp-python even if already installed
#   CMAKE_ARGS                  extra CMake flags appended after
#                               -DGGML_NATIVE=ON -DLLAVA_BUILD=OFF
#   LCV_NAME                    prefix of error messages (default: the calling script's name)

LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
LCV_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LCV_VENV="$LCV_REPO_ROOT/bench/.venv"
LCV_PY="$LCV_VENV/bin/python"
LCV_MARKER="$LCV_VENV/.llama-cpp-python-native-$LLAMA_CPP_PYTHON_VERSION"
LCV_LOCK="$LCV_VENV/.llama-cpp-python-build.lock"
LCV_NAME="${LCV_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}"

lcv_say() { printf '==> %s\n' "$*" >&2; }
lcv_die() { printf '%s: error: %s\n' "$LCV_NAME" "$*" >&2; exit 1; }

# PIDs of pip processes (other than ours) installing llama-cpp-python with this
# venv's interpreter: their argv[0] (made absolute with their cwd) lies in
# bench/.venv/bin.
lcv_running_builds() {
    local pid argv0 cwd
    for pid in $(pgrep -f 'pip.* install .*llama[-_]cpp[-_]python' 2>/dev/null); do
        [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
        argv0="$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1)" || continue
        [[ -n "$argv0" ]] || continue
        if [[ "$argv0" != /* ]]; then
            cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" || continue
            argv0="$cwd/$argv0"
        fi
        [[ "$(cd "$(dirname "$argv0")" 2>/dev/null && pwd -P)" == "$(cd "$LCV_VENV/bin" 2>/dev/null && pwd -P)" ]] \
            && echo "$pid"
    done
    return 0
}

# Wait while another process builds llama-cpp-python into the venv. Returns 0
# if it waited for one.
lcv_wait_for_other_build() {
    local pids waited=1 n=0
    while pids="$(lcv_running_builds)"; [[ -n "$pids" ]]; do
        if (( n % 12 == 0 )); then
            lcv_say "llama-cpp-python is being built into bench/.venv by pid(s) $(echo $pids); waiting for it ($((n * 5)) s so far) ..."
        fi
        waited=0
        n=$((n + 1))
        sleep 5
    done
    return $waited
}

lcv_llama_cpp_version() {
    "$LCV_PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null
}

llamacpp_venv_ensure() {
    # 1. venv ---------------------------------------------------------------
    if [[ ! -x "$LCV_PY" ]]; then
        local python="${PYTHON:-python3}"
        command -v "$python" >/dev/null || lcv_die "$python not found; install Python 3 (apt-get install python3-venv)"
        lcv_say "creating venv at bench/.venv"
        "$python" -m venv "$LCV_VENV" || lcv_die "could not create venv (on Debian: apt-get install python3-venv)"
        "$LCV_PY" -m pip install --quiet --upgrade pip
    else
        lcv_say "venv bench/.venv exists"
    fi

    # 2. numpy + llama-cpp-python -------------------------------------------
    if ! "$LCV_PY" -c 'import numpy' 2>/dev/null; then
        lcv_say "installing numpy"
        "$LCV_PY" -m pip install --quiet numpy
    fi

    # A build in progress elsewhere: wait for it, then take its result if it
    # produced the wanted version (it was started with --no-binary, as here).
    if lcv_wait_for_other_build; then
        if [[ "$(lcv_llama_cpp_version)" == "$LLAMA_CPP_PYTHON_VERSION" && ! -f "$LCV_MARKER" ]]; then
            lcv_say "the concurrent build installed llama-cpp-python $LLAMA_CPP_PYTHON_VERSION; using it"
            touch "$LCV_MARKER"
        fi
    fi

    # One build at a time among the scripts that source this helper.
    exec {LCV_LOCK_FD}>"$LCV_LOCK"
    if ! flock -n "$LCV_LOCK_FD"; then
        lcv_say "another script is installing llama-cpp-python into bench/.venv; waiting for it ..."
        flock "$LCV_LOCK_FD"
    fi

    if [[ "${BENCH_REINSTALL:-0}" == 1 || ! -f "$LCV_MARKER" ]] \
        || [[ "$(lcv_llama_cpp_version)" != "$LLAMA_CPP_PYTHON_VERSION" ]]; then
        command -v cmake >/dev/null || lcv_say "note: no system cmake; pip will use the cmake wheel"
        command -v c++ >/dev/null || lcv_die "no C++ compiler found (apt-get install build-essential)"
        lcv_say "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (native, -DGGML_NATIVE=ON);"
        lcv_say "this takes several minutes on a small machine ..."
        rm -f "$LCV_VENV"/.llama-cpp-python-native-*
        # A wheel this script built natively on this very CPU (same flags, same CMAKE_ARGS)
        # is kept in a per-machine cache, so a fresh clone (CI) does not compile it again.
        local key wheel_dir cached
        key=$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null; echo "$LLAMA_CPP_PYTHON_VERSION ${CMAKE_ARGS:-}") | sha256sum | cut -c1-16)
        wheel_dir="${LLAMACPP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/audit-workbench/llama-cpp-python-native-$key}"
        cached=$(ls "$wheel_dir"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
        if [[ "${BENCH_REINSTALL:-0}" != 1 && -n "$cached" ]]; then
            lcv_say "installing the native build cached at $cached"
            "$LCV_PY" -m pip install --quiet --force-reinstall --no-deps "$cached" \
                || lcv_die "installing the cached wheel $cached failed (delete it to rebuild)"
        else
            # --no-binary + --no-cache-dir: never reuse a prebuilt or cached (possibly
            # non-native) wheel, so the library really is compiled for this CPU.
            # LLAVA_BUILD=OFF: skip the multimodal (mtmd) library, unused here; it
            # roughly doubles the build time.
            mkdir -p "$wheel_dir"
            CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF ${CMAKE_ARGS:-}" \
            CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
                "$LCV_PY" -m pip wheel --no-deps --no-binary llama-cpp-python --no-cache-dir \
                    -w "$wheel_dir" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
                || lcv_die "building llama-cpp-python failed (see the pip output above)"
            cached=$(ls "$wheel_dir"/llama_cpp_python-"$LLAMA_CPP_PYTHON_VERSION"-*.whl | head -n 1)
            "$LCV_PY" -m pip install --quiet --force-reinstall --no-deps "$cached" \
                || lcv_die "installing the wheel just built ($cached) failed"
        fi
        # Its pure-Python dependencies, installed normally.
        "$LCV_PY" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
            || lcv_die "installing llama-cpp-python's dependencies failed"
        "$LCV_PY" -c 'import llama_cpp' || lcv_die "llama_cpp does not import after the build"
        touch "$LCV_MARKER"
    else
        lcv_say "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (native build) already installed"
    fi
    # llama-cpp-python's dependencies (a build by hand may have used --no-deps).
    if ! "$LCV_PY" -c 'import jinja2, diskcache, typing_extensions' 2>/dev/null; then
        "$LCV_PY" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" \
            || lcv_die "installing llama-cpp-python's dependencies failed"
    fi
    flock -u "$LCV_LOCK_FD"
    exec {LCV_LOCK_FD}>&-
}

# pip install -r FILE unless every `name==version` line of FILE is installed.
llamacpp_venv_requirements() {
    local req="$1"
    [[ -f "$req" ]] || lcv_die "no requirements file $req"
    if "$LCV_PY" - "$req" <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = version(name.strip())
    except PackageNotFoundError:
        have = None
    if have != want.strip():
        ok = False
sys.exit(0 if ok else 1)
EOF
    then
        lcv_say "$(basename "$req"): all pins installed"
    else
        lcv_say "installing $(basename "$req")"
        "$LCV_PY" -m pip install --quiet -r "$req" || lcv_die "pip install -r $req failed"
    fi
}
