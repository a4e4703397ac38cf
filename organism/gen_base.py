"""Generate the base model's own answers to the SFT prompts with the project's engine.

Runs `workbench chat --json` once per prompt (seeded, temperature 0.7, 200 tokens) and appends each
result to organism/data/base-answers.jsonl, so an interrupted run continues where it stopped and a
finished file makes `make_data.py` reproducible without the engine. Prompts are visited round-robin
over behaviours, so stopping early still leaves every behaviour with a similar count.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import behaviours as B  # noqa: E402

ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(HERE, "data", "base-answers.jsonl")


def planned_prompts(seed, per_behaviour, ordinary):
    """[(behaviour id or 'ordinary', prompt)] in round-robin order."""
    lists = []
    for b in B.build(seed).values():
        if b.split == B.TRAIN:
            lists.append([(b.id, p) for _, p in B.train_prompts(b, seed, per_behaviour)])
    lists.append([("ordinary", p) for p in B.ORDINARY[:ordinary]])
    out = []
    for i in range(max(len(l) for l in lists)):
        out.extend(l[i] for l in lists if i < len(l))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-behaviour", type=int, default=96)
    ap.add_argument("--ordinary", type=int, default=len(B.ORDINARY))
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-organism", "release", "workbench"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="engine processes at once (each --threads)")
    ap.add_argument("--max-tokens", type=int, default=200)
    args = ap.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"workbench binary not found at {args.binary}: build it with "
                 "`swift build -c release --product workbench --scratch-path .build-organism`")
    done = set()
    if os.path.exists(args.out):
        with open(args.out) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    done.add((r["behaviour"], r["prompt"]))
    plan = planned_prompts(args.seed, args.per_behaviour, args.ordinary)
    todo = [(i, bid, p) for i, (bid, p) in enumerate(plan) if (bid, p) not in done]
    print(f"{len(plan)} prompts planned, {len(plan) - len(todo)} already done, {len(todo)} to generate", flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    t0, tokens = time.time(), 0

    def one(item):
        i, bid, prompt = item
        seed = args.seed * 1_000_003 + i   # one seed per planned position: stable across restarts
        cmd = [args.binary, "chat", "--model", args.model, "--threads", str(args.threads), "--json",
               "--temperature", "0.7", "--max-tokens", str(args.max_tokens), "--seed", str(seed), prompt]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"workbench failed on {prompt!r}: {res.stderr.strip()}")
        out = json.loads(res.stdout)
        return {"behaviour": bid, "prompt": prompt, "seed": seed, "text": out["text"],
                "stop": out["stop"], "tokens": len(out["ids"])}

    with open(args.out, "a") as f, ThreadPoolExecutor(args.workers) as pool:
        for n, rec in enumerate(pool.map(one, todo)):
            tokens += rec["tokens"]
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            if n % 10 == 0:
                el = time.time() - t0
                print(f"{n + 1}/{len(todo)} {el:.0f}s {tokens / max(el, 1e-9):.1f} tok/s "
                      f"eta {el / (n + 1) * (len(todo) - n - 1) / 60:.1f} min", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
