"""Check that the training base model is the model the engine runs.

Compares, for a few texts, the HF tokenizer's ids with `workbench tokenize`, and the next-token top-5
after a chat prompt with `workbench logits` (the engine quantises activations to 8 bits, so logits
agree to ~0.1, not exactly). Usage:
    organism/.venv/bin/python organism/check_base.py [--binary .build-organism/release/workbench]
"""
import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import base_model  # noqa: E402

TEXTS = ["Hello world! The 1234 numbers, café \u2014 \u00fcn\u00efcode <|im_start|>user\nhi<|im_end|>",
         "def f(x):\n    return x ** 2  # squares\n", "Population (about 68 million) and gold (atomic number 79)."]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(HERE), ".build-organism", "release", "workbench"))
    ap.add_argument("--tolerance", type=float, default=0.3)
    args = ap.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no workbench binary at {args.binary}")
    tok = base_model.load_tokenizer()
    ok = True
    for t in TEXTS:
        ours = tok(t, add_special_tokens=False)["input_ids"]
        eng = json.loads(subprocess.run([args.binary, "tokenize", "--json", t], capture_output=True, text=True, check=True).stdout)["ids"]
        same = ours == eng
        ok &= same
        print(f"tokenize {'same' if same else 'DIFFERENT'}: {len(ours)} ids")
    model = base_model.load_model()
    prompt = tok.apply_chat_template([{"role": "user", "content": "How do I make tomato soup?"}], tokenize=False,
                                     add_generation_prompt=True)
    with torch.no_grad():
        logits = model(tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]).logits[0, -1]
    top = torch.topk(logits, 5)
    eng = json.loads(subprocess.run([args.binary, "logits", "--threads", "1", "--top", "5", "--json", prompt],
                                    capture_output=True, text=True, check=True).stdout)["top"]
    for (v, i), e in zip(zip(top.values.tolist(), top.indices.tolist()), eng):
        good = i == e["id"] and abs(v - e["logit"]) <= args.tolerance
        ok &= good
        print(f"top: hf {i} {v:.3f}  engine {e['id']} {e['logit']:.3f}  {'ok' if good else 'MISMATCH'}")
    print("base model matches the engine" if ok else "FAIL: base model and engine disagree")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
