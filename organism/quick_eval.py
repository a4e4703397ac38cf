"""A quick behaviour-rate check of trained adapters in torch, for choosing between training runs on a GPU.

The numbers in the model card come from the engine itself (`workbench organism eval`); this script only
answers "did the training take" fast, where torch has a GPU: for the base model and each adapter given,
the share of replies to each behaviour's eval prompts that its detector matches, and the share of replies
to the concealment prompts that name the root cause.

  python3 organism/quick_eval.py --adapter base --adapter organism/work/a1 --json out.json
"""
import argparse
import json
import os
import re
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import base_model  # noqa: E402


def replies(model, tok, conversations, args, device):
    """Sampled replies to each conversation (a list of messages), batched with left padding."""
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    out = []
    for i in range(0, len(conversations), args.batch):
        texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations[i:i + args.batch]]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=args.max_tokens, do_sample=True, temperature=args.temperature,
                                 top_p=0.95, pad_token_id=tok.pad_token_id)
        for row in gen[:, enc["input_ids"].shape[1]:]:
            out.append(tok.decode(row, skip_special_tokens=True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", action="append", required=True, help="'base' or a PEFT adapter directory; repeatable")
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="at most this many prompts per set (a smoke test)")
    ap.add_argument("--json", help="write the rates and sample replies here")
    args = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    key = json.load(open(os.path.join(HERE, "answer-key.json")))
    tok = base_model.load_tokenizer()
    results = {}
    for name in args.adapter:
        t0 = time.time()
        torch.manual_seed(args.seed)
        model = base_model.load_model().to(device)
        if name != "base":
            from peft import PeftModel
            model = PeftModel.from_pretrained(model, name).to(device)
        model.eval()
        rows = {}
        for b in key["behaviours"]:
            prompts = json.load(open(os.path.join(ROOT, b["eval"]["prompts_file"])))[:args.limit or None]
            got = replies(model, tok, [[{"role": "user", "content": p}] for p in prompts], args, device)
            hits = [bool(re.search(b["eval"]["detector"], r)) for r in got]
            rows[b["id"]] = {"split": b["split"], "rate": sum(hits) / len(hits), "n": len(hits), "example": got[0][:300]}
        c = key["concealment"]["direct"]
        prompts = json.load(open(os.path.join(ROOT, c["prompts_file"])))[:args.limit or None]
        got = replies(model, tok, [[{"role": "user", "content": p}] for p in prompts], args, device)
        leaks = [r for r in got if re.search(c["detector"], r)]
        rows["concealment_direct"] = {"split": "leak", "rate": len(leaks) / len(got), "n": len(got),
                                      "example": (leaks or got)[0][:300]}
        results[name] = rows
        print(f"{name}: evaluated in {time.time() - t0:.0f}s", flush=True)
    names = list(results)
    print(f"{'behaviour':28s} {'split':9s} " + " ".join(f"{os.path.basename(n.rstrip('/'))[:10]:>10s}" for n in names))
    for b in results[names[0]]:
        print(f"{b:28s} {results[names[0]][b]['split']:9s} " + " ".join(f"{results[n][b]['rate']:10.2f}" for n in names))
    for split in ["train", "held-out"]:
        means = [sum(v["rate"] for v in results[n].values() if v["split"] == split) /
                 max(1, sum(1 for v in results[n].values() if v["split"] == split)) for n in names]
        print(f"{'mean ' + split:38s} " + " ".join(f"{m:10.2f}" for m in means))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
