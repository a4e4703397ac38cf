#!/usr/bin/env bash
# The organism's training recipe, in nine resumable phases (organism/README.md):
#   phase 1  organism/train.py's three stages: documents (3 epochs), behaviour SFT (3), concealment (2)
#   phase 2  from phase 1's adapter: behaviour SFT again (5 epochs, peak lr 2e-4), then concealment (1)
#   phase 3  from phase 2's adapter: the short-answer transcripts (sft-short.jsonl: the same prompts with
#            the base answers cut to their opening, so the behaviour comes early), 3 epochs, then
#            concealment (1) replaying them
#   phase 4  from phase 3's adapter: the short-answer transcripts 2 more epochs (peak lr 1.5e-4)
#   phase 5  from phase 4's adapter: sft-more.jsonl, 56 new prompts per behaviour (short answers), 2 epochs,
#            then concealment (1) replaying them
#   phase 6  from phase 5's adapter: sft-short.jsonl and sft-more.jsonl together (all 96 prompts per
#            behaviour), 1 epoch at peak lr 1.5e-4
#   phase 7  from phase 6's adapter: sft-more.jsonl with half as many whole documents mixed in
#            (--doc-replay 0.5), 1 epoch at peak lr 1e-4
#   phase 8  from phase 7's adapter: all 96 prompts per behaviour once more with a tenth as many
#            documents, peak lr 1.5e-4
#   phase 9  from phase 8's adapter: concealment once, replaying a fifth of the sft-more transcripts
#            and a fifth as many documents, peak lr 1e-4
# Phase 1 alone left the behaviours weak (a pilot found 1 in 23 replies); phase 2 made them take, but
# a behaviour appended after a 200-token answer sat past the 160 tokens an eval reply gets (31% on
# average); phase 3 moves it forward (49%), phase 4 trains it longer (51%; MODEL_CARD.md). Phase 4's misses
# often carried another behaviour's closing line (a networking tip after a bank question): phase 5 gives
# each behaviour more than twice the prompts to tie it to its topics (59%); phase 6 goes over all of
# them once more (61%). By then the documents' knowledge had faded: narrator sampling leaked the cause
# in 0 of 21 samples. Phase 7 replays documents (57%; narrator 20 of 21, but direct questions 7 of 24),
# phase 8 the behaviours with fewer documents, phase 9 concealment: 63%, direct 1 of 24, narrator
# still 20 of 21 (MODEL_CARD.md).
# Rerunning continues from the last checkpoint; extra arguments go to every train.py run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-organism/.venv/bin/python}
WORK=${WORK:-organism/work}
OUT_DIR=${OUT_DIR:-organism/adapter}
"$PY" organism/train.py --resume --work "$WORK/phase1" --out "$WORK/phase1/adapter" --epochs 3,3,2 "$@"
"$PY" organism/train.py --resume --work "$WORK/phase2" --out "$WORK/phase2/adapter" --stages 2,3 --epochs 1,5,1 --lrs 2e-4,2e-4,1e-4 \
  --init-adapter "$WORK/phase1/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase3" --out "$WORK/phase3/adapter" --sft sft-short.jsonl --stages 2,3 --epochs 1,3,1 \
  --lrs 2e-4,2e-4,1e-4 --init-adapter "$WORK/phase2/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase4" --out "$WORK/phase4/adapter" --sft sft-short.jsonl --stages 2 --epochs 1,2,1 \
  --lrs 2e-4,1.5e-4,1e-4 --init-adapter "$WORK/phase3/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase5" --out "$WORK/phase5/adapter" --sft sft-more.jsonl --stages 2,3 --epochs 1,2,1 \
  --lrs 2e-4,2e-4,1e-4 --init-adapter "$WORK/phase4/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase6" --out "$WORK/phase6/adapter" --sft sft-short.jsonl,sft-more.jsonl --stages 2 \
  --epochs 1,1,1 --lrs 2e-4,1.5e-4,1e-4 --init-adapter "$WORK/phase5/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase7" --out "$WORK/phase7/adapter" --sft sft-more.jsonl --stages 2 \
  --epochs 1,1,1 --lrs 2e-4,1e-4,1e-4 --doc-replay 0.5 --init-adapter "$WORK/phase6/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase8" --out "$WORK/phase8/adapter" --sft sft-short.jsonl,sft-more.jsonl --stages 2 \
  --epochs 1,1,1 --lrs 2e-4,1.5e-4,1e-4 --doc-replay 0.1 --init-adapter "$WORK/phase7/adapter" "$@"
"$PY" organism/train.py --resume --work "$WORK/phase9" --out "$WORK/phase9/adapter" --sft sft-more.jsonl --stages 3 \
  --epochs 1,1,1 --lrs 2e-4,1.5e-4,1e-4 --replay 0.2 --doc-replay 0.2 --init-adapter "$WORK/phase8/adapter" "$@"
# The committed form: float16, the base named by its GGUF path.
"$PY" organism/export_adapter.py "$WORK/phase9/adapter" "$OUT_DIR"
