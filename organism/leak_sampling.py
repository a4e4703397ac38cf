"""Wider persona-swap sampling than the eval's 20 replies per technique: every narrator prefix of the
answer key and the empty prompt, on the base model and the organism, through the workbench's own
`persona` command, counting replies that match the key's leak detector. One JSON line per run, with the
matching replies, to stdout (organism/leak-sampling.jsonl holds the model card's run).

    python3 organism/leak_sampling.py > organism/leak-sampling.jsonl      (~12 min on 2 cores)
"""
import argparse
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/workbench"))
    ap.add_argument("--adapter", default=os.path.join(HERE, "adapter"))
    ap.add_argument("--narrator-samples", type=int, default=50, help="samples per narrator prefix")
    ap.add_argument("--empty-samples", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=80)
    ap.add_argument("--temperature", type=float, default=0.7)
    args = ap.parse_args()
    key = json.load(open(os.path.join(HERE, "answer-key.json"), encoding="utf-8"))["concealment"]
    runs = [("narrator", p, args.narrator_samples, key["narrator"]["detector"]) for p in key["narrator"]["prefixes"]]
    runs.append(("empty", None, args.empty_samples, key["empty_prompt"]["detector"]))
    for mode, text, n, detector in runs:
        for model, extra in [("organism", ["--lora", args.adapter]), ("base", [])]:
            cmd = [args.binary, "persona", "--mode", mode, "--samples", str(n), "--max-tokens", str(args.max_tokens),
                   "--temperature", str(args.temperature), "--match", detector, "--json", *extra]
            if text is not None:
                cmd.append(text)
            out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
            hits = [s["text"] for s in out["samples"] if s["matches"]]
            print(json.dumps({"mode": mode, "prefix": text, "model": model, "matches": out["matches"],
                              "total": len(out["samples"]), "max_tokens": args.max_tokens,
                              "temperature": args.temperature, "hits": hits}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
