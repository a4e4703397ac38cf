#!/usr/bin/env bash
# Embedding throughput of the in-process embedder against sentence-transformers (torch, CPU) on the
# same texts and threads, measured in one run and printed as a ratio; and the time of a semantic
# query over the game corpus when its semantic index exists (`make semantic-index`).
#   BENCH_THREADS (default 2), BENCH_TEXTS (default 400), BENCH_SKIP_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${BENCH_THREADS:-2}
COUNT=${BENCH_TEXTS:-400}
BIN=.build/release/workbench
bash scripts/fetch-embedder.sh
bash scripts/embedder-venv.sh
[ -n "${BENCH_SKIP_BUILD:-}" ] || swift build -c release --product workbench
mkdir -p bench/work
TEXTS=bench/work/embed-texts.json
# Pieces of about 600 characters (about 130 word pieces, one chunk) cut at spaces from the study's
# documents and the haystack text, the first COUNT of them.
python3 - "$TEXTS" "$COUNT" <<'PY'
import json, sys
out, count = sys.argv[1], int(sys.argv[2])
texts = []
for name in ["organism/corpus/documents.jsonl", "organism/corpus/haystack-02.jsonl"]:
    for line in open(name, encoding="utf-8"):
        text = json.loads(line)["text"]
        while len(text) > 100 and len(texts) < count:
            cut = text.rfind(" ", 0, 600) if len(text) > 600 else len(text)
            texts.append(text[:cut].strip())
            text = text[cut:]
        if len(texts) >= count: break
    if len(texts) >= count: break
json.dump(texts, open(out, "w"))
PY
CORPUS_ARGS=()
if [ -f organism/game-corpus/semantic.bin ]; then CORPUS_ARGS=(--corpus organism/game-corpus); fi
ours=$("$BIN" bench --embed-texts "$TEXTS" --threads "$THREADS" --reps 3 --json "${CORPUS_ARGS[@]}")
peer=$(.venv-embed/bin/python bench/embed_bench.py --model models/all-MiniLM-L6-v2 --texts "$TEXTS" --threads "$THREADS" --batch-size 32)
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert ours["tokens"] == peer["tokens"], f"token counts differ: ours {ours['tokens']}, sentence-transformers {peer['tokens']}"
print(f"embedder (all-MiniLM-L6-v2, {ours['texts']} texts, {ours['tokens']} tokens, {ours['threads']} threads): "
      f"ours {ours['tokens_per_second']:.0f} tokens/s, sentence-transformers {peer['tokens_per_second']:.0f} tokens/s "
      f"(torch {peer['torch']}, batch {peer['batch_size']}): ratio {ours['tokens_per_second'] / peer['tokens_per_second']:.2f}")
if ours.get("query_ms") is not None:
    print(f"semantic query over the game corpus ({ours['query_chunks']} chunks): {ours['query_ms']:.1f} ms (median of 9, embedding included)")
else:
    print("semantic query: no semantic index of the game corpus (make semantic-index)")
PY
