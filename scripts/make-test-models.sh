#!/usr/bin/env bash
# The test models for every model family and GGUF tensor type, and llama.cpp's reference outputs
# for each (Tests/ModelTests/Fixtures/families/README.md). Run by `make test` and
# `make test-models`; idempotent: a file whose SHA-256 is the one its reference records is left
# alone, and a reference whose file and settings are unchanged is left alone.
#
#   scripts/make-test-models.sh
#
# Steps:
#   1. bench/.venv with numpy and llama-cpp-python built natively (scripts/llamacpp-venv.sh,
#      shared with scripts/bench-vs-llamacpp.sh; a build already running is waited for), plus
#      the pins of scripts/requirements-test-models.txt (numpy, gguf, Jinja2, and the server extra for the remote-engine tests)
#   2. the source models (scripts/fetch-model.sh), if missing
#   3. scripts/make_family_fixtures.py: models/quant/SmolLM2-135M-Instruct.<TYPE>.gguf (14 types,
#      llama.cpp's quantiser), models/fixtures/<family>-tiny.gguf (llama3, qwen2, qwen3, gemma2;
#      random weights) and models/fixtures/<family>-tiny.{Q4_K_M,Q8_0}.gguf
#   4. scripts/family_reference.py: Tests/ModelTests/Fixtures/families/<file-stem>.json
#
# Environment:
#   TEST_MODELS_FORCE=1           remake every model file and reference
#   TEST_MODELS_SKIP_REFERENCE=1  stop after step 3
#   and those of scripts/llamacpp-venv.sh (LLAMA_CPP_PYTHON_VERSION, BENCH_REINSTALL, CMAKE_ARGS, PYTHON)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

LCV_NAME=make-test-models
# shellcheck source=scripts/llamacpp-venv.sh
source "$REPO_ROOT/scripts/llamacpp-venv.sh"

t_start=$SECONDS
# 1. venv ----------------------------------------------------------------------------------------
llamacpp_venv_ensure
llamacpp_venv_requirements "$REPO_ROOT/scripts/requirements-test-models.txt"

# 2. source models -------------------------------------------------------------------------------
if [[ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf || ! -f models/gemma-3-270m-q4_k_m.gguf ]]; then
    lcv_say "fetching the source models (scripts/fetch-model.sh)"
    bash "$REPO_ROOT/scripts/fetch-model.sh" || lcv_die "scripts/fetch-model.sh failed"
fi

force=()
[[ "${TEST_MODELS_FORCE:-0}" == 1 ]] && force=(--force)

# 3. model files ---------------------------------------------------------------------------------
lcv_say "test models: models/quant/, models/fixtures/ (scripts/make_family_fixtures.py)"
t0=$SECONDS
"$LCV_PY" "$REPO_ROOT/scripts/make_family_fixtures.py" "${force[@]}" \
    || lcv_die "scripts/make_family_fixtures.py failed"
t_models=$((SECONDS - t0))

# 4. references ----------------------------------------------------------------------------------
t_refs=0
if [[ "${TEST_MODELS_SKIP_REFERENCE:-0}" != 1 ]]; then
    lcv_say "llama.cpp references: Tests/ModelTests/Fixtures/families/ (scripts/family_reference.py)"
    t0=$SECONDS
    "$LCV_PY" "$REPO_ROOT/scripts/family_reference.py" "${force[@]}" \
        || lcv_die "scripts/family_reference.py failed"
    t_refs=$((SECONDS - t0))
fi
lcv_say "test models ready: $((SECONDS - t_start)) s (model files ${t_models} s, references ${t_refs} s)"
