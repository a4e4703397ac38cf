#!/usr/bin/env bash
# The organism's recipe (organism/recipe.sh) on one CUDA GPU, where it takes about five minutes instead
# of hours on two CPU cores; then the adapter is stored as float16 (half the size; the engine reads F16
# safetensors) in organism/adapter/. This is how the committed adapter was made, on an H200.
#
#   bash organism/gpu-train.sh        (QUICK_EVAL=1 also runs organism/quick_eval.py on the result)
#
# Needs python3 with torch (CUDA), transformers, peft, safetensors and gguf, and the model in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PY=${PY:-python3}
WORK=${WORK:-organism/work/gpu} OUT_DIR=${WORK:-organism/work/gpu}/adapter bash organism/recipe.sh --ckpt-every 100000
"$PY" - "${WORK:-organism/work/gpu}/adapter" organism/adapter <<'PYEOF'
import json, os, sys, torch
from safetensors.torch import load_file, save_file
src, dest = sys.argv[1], sys.argv[2]
os.makedirs(dest, exist_ok=True)
weights = {k: v.to(torch.float16).contiguous() for k, v in load_file(os.path.join(src, "adapter_model.safetensors")).items()}
save_file(weights, os.path.join(dest, "adapter_model.safetensors"))
cfg = json.load(open(os.path.join(src, "adapter_config.json")))
cfg["base_model_name_or_path"] = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
json.dump(cfg, open(os.path.join(dest, "adapter_config.json"), "w"), indent=2)
print(f"organism/adapter/: {len(weights)} tensors, float16")
PYEOF
if [ "${QUICK_EVAL:-0}" = 1 ]; then "$PY" organism/quick_eval.py --adapter base --adapter organism/adapter; fi
