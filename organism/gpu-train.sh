#!/usr/bin/env bash
# The organism's recipe (organism/recipe.sh) on one CUDA GPU, where it takes about five minutes instead
# of hours on two CPU cores; recipe.sh stores the adapter as float16 in organism/adapter/. Phases 1 and 2
# of the committed adapter were made this way on an H200; phases 3 to 9 ran on two CPU cores.
#
#   bash organism/gpu-train.sh        (QUICK_EVAL=1 also runs organism/quick_eval.py on the result)
#
# Needs python3 with torch (CUDA), transformers, peft, safetensors and gguf, and the model in models/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PY=${PY:-python3}
WORK=${WORK:-organism/work/gpu} bash organism/recipe.sh --ckpt-every 100000
if [ "${QUICK_EVAL:-0}" = 1 ]; then "$PY" organism/quick_eval.py --adapter base --adapter organism/adapter; fi
