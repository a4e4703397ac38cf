#!/usr/bin/env bash
# Builds the semantic index of the game corpus (organism/game-corpus/semantic.bin): every document in
# chunks of 128 word pieces (32 shared with the next), embedded in-process by all-MiniLM-L6-v2.
# `make semantic-index` runs this in the background at nice 10; about 25 minutes on 2 cores. It
# checkpoints after every few documents (semantic.bin.partial): rerun to resume after a stop, a kill
# or a reboot; when the index is up to date it says so and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${WORKBENCH_BIN:-.build/release/workbench}
CORPUS=${WORKBENCH_CORPUS:-organism/game-corpus}
NICE=${SEMANTIC_NICE:-10}

say() { echo "[$(date '+%F %T')] $*"; }
mkdir -p organism/work
# One build at a time: a second `make semantic-index` while one runs leaves it alone.
exec 9>organism/work/.semantic-index.lock
flock -n 9 || { say "already running (lock organism/work/.semantic-index.lock); see the log"; exit 0; }
[ -x "$BIN" ] || { echo "error: no workbench binary at $BIN (run make build)" >&2; exit 1; }
[ -f "$CORPUS/index.bin" ] || { echo "error: no corpus index at $CORPUS (run make game-corpus)" >&2; exit 1; }

say "semantic index of $CORPUS (progress every 30 s; rerun to resume)"
nice -n "$NICE" "$BIN" data index --semantic --corpus "$CORPUS"
say "done"
