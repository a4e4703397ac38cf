#!/usr/bin/env bash
# Trains the default SAE (SmolLM2-135M-Instruct, blocks.15.hook_resid_post, d_sae 4608, k 32) and
# builds its feature index. Rerunnable: a finished step is skipped, an interrupted training run
# resumes from its last checkpoint. `make sae` runs this in the background (log: models/sae/sae.log).
#
# The corpus is generated from what any machine with python3 has: the docstrings of the Python
# standard library (module, class and function docstrings, one .txt file per module).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WORKBENCH_BIN:-.build/release/workbench}
OUT=${SAE_DIR:-models/sae/smollm2-135m-l15-resid-post-4608}
CORPUS=${SAE_CORPUS:-models/sae/corpus-python-docstrings}
TOKENS=${SAE_TOKENS:-150000}
INDEX_TOKENS=${SAE_INDEX_TOKENS:-50000}
EVAL_TOKENS=${SAE_EVAL_TOKENS:-20000}
THREADS=${SAE_THREADS:-2}
NICE=${SAE_NICE:-10}
MODEL=${WORKBENCH_MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
D_SAE=${SAE_D_SAE:-4608}
LORA=()
if [ -n "${SAE_LORA:-}" ]; then LORA=(--lora "$SAE_LORA"); fi

say() { echo "[$(date '+%F %T')] $*"; }
mkdir -p "$(dirname "$OUT")"
# One run at a time: a second `make sae` while one is running leaves it alone.
exec 9>"$(dirname "$OUT")/.sae-default.lock"
flock -n 9 || { say "already running (lock $(dirname "$OUT")/.sae-default.lock); see the log"; exit 0; }
[ -x "$BIN" ] || { echo "error: no workbench binary at $BIN (run make build)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "error: no model at $MODEL (run make models)" >&2; exit 1; }

if [ ! -f "$CORPUS/.complete" ] && [ -n "${SAE_CORPUS_SCRIPT:-}" ]; then
  say "corpus: $SAE_CORPUS_SCRIPT -> $CORPUS"
  rm -rf "$CORPUS"
  python3 "$SAE_CORPUS_SCRIPT" "$CORPUS"
  touch "$CORPUS/.complete"
fi
if [ ! -f "$CORPUS/.complete" ]; then
  say "corpus: Python standard-library docstrings -> $CORPUS"
  rm -rf "$CORPUS"
  mkdir -p "$CORPUS"
  python3 - "$CORPUS" <<'PY'
import ast, inspect, os, sys, sysconfig
out = sys.argv[1]
stdlib = sysconfig.get_paths()["stdlib"]
skip = {"test", "tests", "idlelib", "site-packages", "dist-packages", "__pycache__", "lib2to3", "turtledemo", "ensurepip"}
files = chars = 0
for root, dirs, names in os.walk(stdlib):
    # Sorted walk, so the corpus (and its held-out tail) is the same on every run.
    dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("config-"))
    for name in sorted(names):
        if not name.endswith(".py"):
            continue
        path = os.path.join(root, name)
        try:
            tree = ast.parse(open(path, encoding="utf-8").read())
        except Exception:
            continue
        docs = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                d = ast.get_docstring(node)
                if d and len(d) >= 80:  # one-liners are mostly "Return x."; keep prose
                    docs.append(inspect.cleandoc(d))
        if docs:
            rel = os.path.relpath(path, stdlib).replace(os.sep, "_")[:-3]
            text = "\n\n".join(docs)
            with open(os.path.join(out, rel + ".txt"), "w", encoding="utf-8") as f:
                f.write(text + "\n")
            files += 1
            chars += len(text)
print(f"corpus: {files} files, {chars} characters")
PY
  touch "$CORPUS/.complete"
fi

trained() { python3 -c 'import json,sys; sys.exit(0 if "eval_fve" in json.load(open(sys.argv[1])).get("training", {}) else 1)' "$OUT/cfg.json" 2>/dev/null; }

if trained; then
  say "train: $OUT is trained; skipping"
else
  resume=()
  if [ -f "$OUT/trainer_state.safetensors" ]; then resume=(--resume); say "train: resuming $OUT"; else say "train: starting $OUT"; fi
  start=$(date +%s)
  nice -n "$NICE" "$BIN" sae train --model "$MODEL" "${LORA[@]}" --threads "$THREADS" --corpus "$CORPUS" --layer 15 --hook resid_post \
    --d-sae "$D_SAE" --k 32 --tokens "$TOKENS" --checkpoint-every 50000 --eval-tokens "$EVAL_TOKENS" --out "$OUT" "${resume[@]}" --json > "$OUT.train.json"
  say "train: done in $(( $(date +%s) - start )) s: $(cat "$OUT.train.json")"
fi

if [ -f "$OUT/feature_index.json" ]; then
  say "index: $OUT/feature_index.json exists; skipping (delete it to rebuild)"
else
  say "index: $INDEX_TOKENS tokens of $CORPUS"
  start=$(date +%s)
  nice -n "$NICE" "$BIN" sae index --model "$MODEL" "${LORA[@]}" --threads "$THREADS" --sae "$OUT" --corpus "$CORPUS" \
    --max-tokens "$INDEX_TOKENS" --json > "$OUT.index.json"
  say "index: done in $(( $(date +%s) - start )) s: $(cat "$OUT.index.json")"
fi
say "done: $OUT"
