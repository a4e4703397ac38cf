#!/usr/bin/env python3
"""Embedding throughput of sentence-transformers on this CPU for a fixed workload: the reference the
in-process embedder's number is divided by in `make bench`.

    .venv-embed/bin/python bench/embed_bench.py --model models/all-MiniLM-L6-v2 \\
        --texts FILE --threads N --batch-size B [--repeat R]

FILE is a JSON list of strings (the chunks the Swift bench embeds). The model is loaded on the CPU,
torch.set_num_threads(N) is applied, one untimed model.encode(texts, batch_size=B) warms up, then
the same call is timed R times (default 3) and the best is kept. Prints one JSON line:

    {"tokens": ..., "texts": ..., "seconds": ..., "tokens_per_second": ..., "threads": N,
     "batch_size": B, "torch": "...", "sentence_transformers": "..."}

tokens: the non-padding tokens the model processes, [CLS] and [SEP] included, as
model.tokenizer(text, truncation=True, max_length=model.max_seq_length) counts them.
Needs .venv-embed (scripts/embedder-venv.sh) and the model (scripts/fetch-embedder.sh).
"""

import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser(description="sentence-transformers embedding throughput (one JSON line)")
    ap.add_argument("--model", required=True, help="sentence-transformers model folder")
    ap.add_argument("--texts", required=True, help="JSON file: a list of strings")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.threads < 1 or args.batch_size < 1 or args.repeat < 1:
        sys.exit("embed_bench: --threads, --batch-size and --repeat must be at least 1")

    try:
        with open(args.texts, encoding="utf-8") as f:
            texts = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"embed_bench: cannot read {args.texts}: {e}")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        sys.exit(f"embed_bench: {args.texts} must hold a non-empty JSON list of strings")

    import torch
    torch.set_num_threads(args.threads)
    import sentence_transformers
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    enc = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    tokens = sum(len(ids) for ids in enc["input_ids"])

    def run():
        with torch.inference_mode():
            model.encode(texts, batch_size=args.batch_size, show_progress_bar=False, convert_to_numpy=True)

    run()  # warm-up
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)

    print(json.dumps({
        "tokens": tokens,
        "texts": len(texts),
        "seconds": round(best, 6),
        "tokens_per_second": round(tokens / best, 1),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }))


if __name__ == "__main__":
    main()
