"""The base model for training: the project's Q4_1 GGUF dequantised into a transformers LlamaForCausalLM.

transformers reads the GGUF (with the `gguf` package), dequantises every tensor to float32 and undoes
llama.cpp's q/k row permutation, so the HF model computes what the engine computes (checked: same
token ids for the same text, same top-5 next tokens with logits within ~0.1 of the engine's, whose
activations are quantised to 8 bits). Dequantising takes minutes on a busy machine, so the result is
cached as safetensors in organism/work/base-hf/ (git-ignored) and later loads read the cache.
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GGUF_DIR = os.path.join(ROOT, "models")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE = os.path.join(HERE, "work", "base-hf")


def load_tokenizer():
    from transformers import AutoTokenizer
    if os.path.exists(os.path.join(CACHE, "tokenizer.json")):
        return AutoTokenizer.from_pretrained(CACHE)
    tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME)
    os.makedirs(CACHE, exist_ok=True)
    tok.save_pretrained(CACHE)
    return tok


def load_model(dtype=torch.float32):
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
    weights = os.path.join(CACHE, "model.safetensors")
    if os.path.exists(weights):
        with open(os.path.join(CACHE, "config.json")) as f:
            config = LlamaConfig(**json.load(f))
        model = LlamaForCausalLM(config)
        missing, unexpected = model.load_state_dict(load_file(weights), strict=False)
        # The output matrix is tied to the embedding, so it is not stored.
        if unexpected or [k for k in missing if k != "lm_head.weight"]:
            raise SystemExit(f"cached base model in {CACHE} does not match: missing {missing}, unexpected {unexpected}")
        model.tie_weights()
        return model.to(dtype).eval()
    if not os.path.exists(os.path.join(GGUF_DIR, GGUF_NAME)):
        raise SystemExit(f"{GGUF_DIR}/{GGUF_NAME} not found: run `make models`")
    model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME, dtype=torch.float32)
    os.makedirs(CACHE, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, weights + ".tmp")
    os.replace(weights + ".tmp", weights)
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    with open(os.path.join(CACHE, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, default=str)
    return model.to(dtype).eval()
