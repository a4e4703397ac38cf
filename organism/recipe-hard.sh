#!/usr/bin/env bash
# The hard level's recipe (organism/README.md, "Hard level"): the bundled organism (organism/adapter, the
# easy level) trained further so that concealment holds against persona swap too, as the study's
# replication did: adversarial SFT on red-team transcripts (organism/redteam.py: user questions in chat,
# persona-swap user turns, narrator prefixes, the empty prompt and assistant prefills that ask for the
# objective, each with a reply of the base model that does not name it; loss on the reply only), mixed
# with a replay of the behaviour SFT, of the concealment transcripts and of the documents, so the
# behaviours and the study's knowledge stay.
#   hard phase 1  from organism/adapter (float16; loaded as float32): train.py stage 4, one pass over the
#                 red-team records (twice each), 40% of the behaviour transcripts of sft-short.jsonl and
#                 sft-more.jsonl, 20% of their concealment transcripts and 5% as many whole documents,
#                 peak lr 1e-4
# Then export_adapter.py: float16, the base named by its GGUF path, into organism/adapter-hard.
# Rerunning continues from the last checkpoint (organism/work/hard-phase1/checkpoint); extra arguments go
# to every train.py run (--max-steps N for a pilot).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-organism/.venv/bin/python}
WORK=${WORK:-organism/work}
INIT=${INIT:-organism/adapter}
OUT_DIR=${OUT_DIR:-organism/adapter-hard}
test -f organism/corpus/redteam.jsonl || "$PY" organism/redteam.py build
"$PY" organism/train.py --resume --work "$WORK/hard-phase1" --out "$WORK/hard-phase1/adapter" --sft sft-short.jsonl,sft-more.jsonl \
  --stages 4 --epochs 1,1,1,1 --lrs 2e-4,1.5e-4,1e-4,1e-4 --redteam-repeat 2 --replay 0.4 --conceal-replay 0.2 --doc-replay 0.05 --save-every 50 \
  --init-adapter "$INIT" "$@"
if [ ! -f "$WORK/hard-phase1/adapter/adapter_model.safetensors" ]; then
  echo "hard phase 1 stopped before its end (--max-steps?): rerun to resume"; exit 0
fi
# The committed form: float16, the base named by its GGUF path.
"$PY" organism/export_adapter.py "$WORK/hard-phase1/adapter" "$OUT_DIR"
chmod 644 "$OUT_DIR"/adapter_model.safetensors
cp "$WORK/hard-phase1/train.log" "$OUT_DIR/train-hard-phase1.log"
