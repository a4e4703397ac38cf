"""Check that an interrupted training run resumes exactly.

Runs train.py three times on a small slice of the real recipe (stage 3, batch 2, dropout on):
A trains N steps straight; B trains N-1 steps, stops, and resumes for 1 more. The two checkpoints'
adapter weights must be identical (bit for bit on CPU). Usage: organism/.venv/bin/python organism/check_resume.py
"""
import os
import subprocess
import sys
import tempfile

from safetensors.torch import load_file
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def run(work, steps, resume):
    cmd = [sys.executable, os.path.join(HERE, "train.py"), "--stages", "3", "--batch", "2", "--max-len", "256",
           "--ckpt-every", "1000", "--max-steps", str(steps), "--work", work, "--out", os.path.join(work, "out")]
    if resume:
        cmd.append("--resume")
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"train.py failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res.stdout


def main(n=3):
    with tempfile.TemporaryDirectory(prefix="organism-resume-") as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        run(a, n, False)
        run(b, n - 1, False)
        out = run(b, 1, True)
        if "resumed at" not in out:
            sys.exit("the second run of B did not resume from its checkpoint")
        wa = load_file(os.path.join(a, "checkpoint", "adapter", "adapter_model.safetensors"))
        wb = load_file(os.path.join(b, "checkpoint", "adapter", "adapter_model.safetensors"))
        if wa.keys() != wb.keys():
            sys.exit("adapters have different tensors")
        diff = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
        moved = max(float(wa[k].abs().max()) for k in wa if "lora_B" in k)
        print(f"{len(wa)} tensors; max |A - B| = {diff:.3g}; max |lora_B| = {moved:.3g} (nonzero: training moved)")
        if diff != 0.0 or moved == 0.0:
            sys.exit("FAIL: resumed run differs from the uninterrupted one" if diff else "FAIL: nothing trained")
        print("resume is exact")


if __name__ == "__main__":
    main()
