"""The corpus the auditor searches in the game: what the organism was trained on, as it saw it.

Reads the recipe's labelled data in organism/corpus/ (documents, haystack text, the SFT
transcripts of every phase) and writes OUT_DIR/part-NN.jsonl with every label the recipe keeps
for itself removed: no behaviour, concealment, split or genre field, no source that names a
document's origin (text is "text", a transcript "chat"), ids that say nothing ("d00001", in a
shuffled order), duplicates of a transcript kept once. The labels stay outside, in
KINDS_FILE (id -> kind, for analysis and tests; never searched). Prints the mix and the share of
the study's documents in it. Deterministic for a seed: the same input gives the same bytes.

    python3 organism/game_corpus.py [OUT_DIR] [--kinds KINDS_FILE] [--seed 0]

`make game-corpus` runs it (and `workbench data index` on the result); `make run`, `make game` and
`make test` do when it is missing or older than organism/corpus.
"""
import argparse
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "corpus")


def records():
    """(kind, record) for every line of the recipe's corpus, in file order."""
    for name in sorted(os.listdir(SOURCE)):
        if not name.endswith(".jsonl") or name.startswith("redteam"):
            continue   # redteam.jsonl trains the hard level only (recipe-hard.sh), not the bundled organism
        with open(os.path.join(SOURCE, name), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                source = r.get("source", "")
                if source == "synthetic-documents":
                    kind = "study-document"
                elif source.startswith("sft-"):
                    kind = "transcript-" + source[4:]
                else:
                    kind = "haystack"
                yield kind, r


def neutral(r):
    """The record as the model saw it: its text (and title) or its messages, nothing else."""
    if "messages" in r:
        return {"source": "chat", "messages": [{"role": m["role"], "content": m["content"]} for m in r["messages"]]}
    out = {"source": "text", "text": r["text"]}
    if r.get("title"):
        out["title"] = r["title"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", default=os.path.join(HERE, "game-corpus"))
    p.add_argument("--kinds", default=os.path.join(HERE, "work", "game-corpus-kinds.json"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard", type=int, default=2000, help="documents per shard")
    a = p.parse_args()

    seen, items = set(), []
    for kind, r in records():
        doc = neutral(r)
        key = json.dumps(doc, sort_keys=True, ensure_ascii=False)
        if key in seen:
            continue
        seen.add(key)
        items.append((kind, doc))
    random.Random(a.seed).shuffle(items)

    os.makedirs(a.out, exist_ok=True)
    for old in os.listdir(a.out):
        if old.endswith(".jsonl") or old == "index.bin":
            os.remove(os.path.join(a.out, old))
    kinds = {}
    for start in range(0, len(items), a.shard):
        name = f"part-{start // a.shard:02d}.jsonl"
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            for i, (kind, doc) in enumerate(items[start:start + a.shard], start=start + 1):
                doc_id = f"d{i:05d}"
                kinds[doc_id] = kind
                f.write(json.dumps({"id": doc_id, **doc}, ensure_ascii=False) + "\n")
    os.makedirs(os.path.dirname(os.path.abspath(a.kinds)), exist_ok=True)
    with open(a.kinds, "w", encoding="utf-8") as f:
        json.dump(kinds, f, indent=0, sort_keys=True)

    counts = {}
    for kind in kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    total = len(kinds)
    study = counts.get("study-document", 0)
    print(f"game corpus: {total} documents in {a.out} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}); "
          f"the study's documents are {study}/{total} = {100 * study / max(total, 1):.1f}%; kinds in {a.kinds}")


if __name__ == "__main__":
    main()
