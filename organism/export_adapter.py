"""Store a trained PEFT adapter as float16 in the committed place (half the size; the engine reads F16
safetensors and computes the LoRA product in float32), with the base model named by its GGUF path.

    python organism/export_adapter.py organism/work/phase9/adapter organism/adapter
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dest = sys.argv[1], sys.argv[2]
    os.makedirs(dest, exist_ok=True)
    weights = {k: v.to(torch.float16).contiguous()
               for k, v in load_file(os.path.join(src, "adapter_model.safetensors")).items()}
    save_file(weights, os.path.join(dest, "adapter_model.safetensors"))
    with open(os.path.join(src, "adapter_config.json")) as f:
        cfg = json.load(f)
    cfg["base_model_name_or_path"] = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
    if isinstance(cfg.get("target_modules"), list):   # PEFT writes a set: sorted, a re-export diffs only where it changed
        cfg["target_modules"] = sorted(cfg["target_modules"])
    with open(os.path.join(dest, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print(f"{dest}: {len(weights)} tensors, float16")


if __name__ == "__main__":
    main()
