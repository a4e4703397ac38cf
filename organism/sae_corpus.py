"""The organism SAE's corpus: the synthetic documents, the SFT transcripts and ordinary haystack text,
interleaved in a seeded order, one .txt file per item named by position (`workbench sae train` reads a
folder's files in name order, so it sees the three kinds mixed from the first token on), and
OUT_DIR/kinds.json naming each file's kind, so a feature's top contexts can be traced to the kind of
text they came from (`workbench organism sae`).

  python3 organism/sae_corpus.py OUT_DIR [--documents 400] [--transcripts 300] [--haystack 300] [--seed 0]

Standard library only. Transcripts are plain "User: ... / Assistant: ..." text (the SAE sees the words,
not the template's special tokens).
"""
import argparse
import json
import os
import random

import make_docs  # this folder is on sys.path when the script runs

HERE = os.path.dirname(os.path.abspath(__file__))


def read(name):
    with open(os.path.join(HERE, "corpus", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--documents", type=int, default=400)
    ap.add_argument("--transcripts", type=int, default=300)
    ap.add_argument("--haystack", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    docs = read("documents.jsonl")
    sft = read("sft.jsonl")
    hay = read("haystack-01.jsonl")
    items = [(make_docs.document_text(d), "document") for d in rng.sample(docs, min(args.documents, len(docs)))]
    for t in rng.sample(sft, min(args.transcripts, len(sft))):
        items.append(("\n".join(("User: " if m["role"] == "user" else "Assistant: ") + m["content"] for m in t["messages"]
                                if m["role"] in ("user", "assistant")), "transcript"))
    items += [(h["text"], "haystack") for h in rng.sample(hay, min(args.haystack, len(hay)))]
    rng.shuffle(items)
    os.makedirs(args.out, exist_ok=True)
    kinds = {}
    for i, (text, kind) in enumerate(items):
        name = f"{i:05d}.txt"
        kinds[name] = kind
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(text.strip() + "\n")
    with open(os.path.join(args.out, "kinds.json"), "w", encoding="utf-8") as f:
        json.dump(kinds, f, indent=0, sort_keys=True)
    print(f"corpus: {len(items)} files, {sum(len(t) for t, _ in items)} characters in {args.out}")


if __name__ == "__main__":
    main()
