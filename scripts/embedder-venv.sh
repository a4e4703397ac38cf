#!/usr/bin/env bash
# The venv .venv-embed/ (git-ignored) with sentence-transformers on a CPU build of torch: the
# reference implementation the in-process all-MiniLM-L6-v2 embedder is checked and benchmarked
# against (Tests/ModelTests/Fixtures/embeddings/make_reference.py, bench/embed_bench.py).
# torch comes from a local wheel found through pip's find-links (/opt/wheels here); everything else
# from PyPI. Idempotent: skipped when sentence_transformers imports and the stamp file records
# exactly these pins.
#
#   scripts/embedder-venv.sh
#
# Environment:
#   PYTHON                 interpreter the venv is created with (default: python3)
#   EMBED_REINSTALL=1      reinstall the pins even if the stamp matches
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-embed"
PY="$VENV/bin/python"
STAMP="$VENV/.embedder-pins"
PYTHON="${PYTHON:-python3}"

# The pins, one requirement each. torch's "+cpu" build is not on PyPI: pip finds it through
# find-links (global.find-links=/opt/wheels in pip's config).
PINS=(
    "torch==2.13.0+cpu"
    "sentence-transformers==6.3.0"
    "transformers==5.25.0"
    "tokenizers==0.23.3"
)
WANT="$(printf '%s\n' "${PINS[@]}")"

die() { echo "embedder-venv: error: $*" >&2; exit 1; }

if [[ "${EMBED_REINSTALL:-0}" != 1 && -x "$PY" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] \
    && "$PY" -c "import sentence_transformers" 2>/dev/null; then
    echo "==> .venv-embed: sentence-transformers venv up to date ($(echo "${PINS[@]}"))"
    exit 0
fi

if [[ ! -x "$PY" ]]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (apt-get install python3 python3-venv)"
    echo "==> creating .venv-embed"
    "$PYTHON" -m venv "$VENV" || die "could not create the venv (on Debian: apt-get install python3-venv)"
else
    echo "==> .venv-embed exists; (re)installing the pins"
fi
rm -f "$STAMP"

echo "==> installing ${PINS[*]} (torch CPU wheel via pip's find-links; the rest from PyPI) ..."
if ! "$PY" -m pip install --quiet "${PINS[@]}"; then
    echo "embedder-venv: pip install failed. torch==2.13.0+cpu comes only from a local wheel" >&2
    echo "  (pip config find-links, e.g. /opt/wheels: $(ls /opt/wheels/torch-* 2>/dev/null | tr '\n' ' ')); the rest needs PyPI." >&2
    exit 1
fi

# Each pin must be what is installed (pip would not silently pick another, but check).
"$PY" - "${PINS[@]}" <<'EOF' || die "the installed versions do not match the pins"
import sys
from importlib.metadata import version
bad = [(p, version(p.split("==")[0])) for p in sys.argv[1:] if version(p.split("==")[0]) != p.split("==")[1]]
for pin, have in bad:
    print(f"embedder-venv: {pin} wanted, {have} installed", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
"$PY" -c "import torch, sentence_transformers" || die "sentence_transformers does not import"
printf '%s\n' "${PINS[@]}" > "$STAMP"
echo "==> .venv-embed ready: $("$PY" -c 'import torch, sentence_transformers, transformers, tokenizers; print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")')"
