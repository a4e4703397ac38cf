#!/usr/bin/env python3
"""A PEFT LoRA fixture and its merged-weights reference for Tests/ModelTests/LoRATests.swift.

Independent of the engine: the GGUF is read with the `gguf` package, every weight is dequantised to
float32 and the Q/K rows are put back into Hugging Face's layout (the inverse of the `permute` in
llama.cpp's convert_hf_to_gguf.py). The adapter is built in that HF layout, as PEFT would save it
after training on the HF model, merged as W += (alpha / r) * B @ A, and a float32 forward pass with
HF's half-split RoPE (rotate_half) gives the last-token logits. The engine must reproduce them by
applying the adapter at run time to its quantised GGUF weights, which only works if it permutes the
q/k lora_B rows the way the converter permuted the weights.

Every adapter value is k * 2^-e with |k| < 128, exact in F16, BF16 and F32, so the tests can
re-encode the adapter in any dtype and expect identical results.

Run (numpy and gguf in a venv, e.g. python3 -m venv /tmp/v && /tmp/v/bin/pip install numpy gguf):
  python scripts/lora_fixture_gen.py models/SmolLM2-135M-Instruct.Q4_1.gguf Tests/ModelTests/Fixtures
writes Fixtures/lora-adapter/{adapter_config.json,adapter_model.safetensors} and
Fixtures/lora_expected.json.
"""
import json
import os
import struct
import sys

import numpy as np
import gguf

RANK = 4
ALPHA = 8  # scale alpha / r = 2
# (layer, modules): q_proj and k_proj are included so the row permutation is exercised.
TARGETS = [
    (1, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    (12, ["q_proj", "k_proj", "down_proj"]),
    (26, ["q_proj", "k_proj", "v_proj", "up_proj"]),
]
ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GGUF_NAME = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
             "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
PREFIX = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
          "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}
CASES = [
    [788, 260, 3616, 282, 260, 1977, 28, 260, 4197],  # "In the beginning of the story, the king"
    [12615, 36411, 418],                               # "Water boils at"
    [2017, 6772, 347, 2333, 198],                      # "import numpy as np\n"
]
TOP = 40


def field(reader, key):
    return reader.fields[key].contents()


def load(path):
    reader = gguf.GGUFReader(path)
    tensors = {}
    for t in reader.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        tensors[t.name] = w.reshape([int(d) for d in reversed(t.shape)])  # ggml dims are {cols, rows}
    cfg = {
        "dim": int(field(reader, "llama.embedding_length")),
        "hidden": int(field(reader, "llama.feed_forward_length")),
        "layers": int(field(reader, "llama.block_count")),
        "heads": int(field(reader, "llama.attention.head_count")),
        "kv_heads": int(field(reader, "llama.attention.head_count_kv")),
        "rope_base": float(field(reader, "llama.rope.freq_base")),
        "eps": float(field(reader, "llama.attention.layer_norm_rms_epsilon")),
    }
    return tensors, cfg


def unpermute(w, n_head):
    """Inverse of convert_hf_to_gguf.py's permute: GGUF adjacent-pair rows -> HF half-split rows."""
    out, rest = w.shape[0], w.shape[1:]
    return w.reshape(n_head, out // n_head // 2, 2, *rest).swapaxes(1, 2).reshape(w.shape)


def hf_weights(t, cfg):
    layers = []
    for l in range(cfg["layers"]):
        p = f"blk.{l}."
        layers.append({
            "input_layernorm": t[p + "attn_norm.weight"],
            "post_attention_layernorm": t[p + "ffn_norm.weight"],
            "q_proj": unpermute(t[p + "attn_q.weight"], cfg["heads"]),
            "k_proj": unpermute(t[p + "attn_k.weight"], cfg["kv_heads"]),
            "v_proj": t[p + "attn_v.weight"],
            "o_proj": t[p + "attn_output.weight"],
            "gate_proj": t[p + "ffn_gate.weight"],
            "up_proj": t[p + "ffn_up.weight"],
            "down_proj": t[p + "ffn_down.weight"],
        })
    embed = t["token_embd.weight"]
    return {"embed": embed, "norm": t["output_norm.weight"], "lm_head": t.get("output.weight", embed), "layers": layers}


def rms_norm(x, w, eps):
    return (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def forward(w, cfg, ids):
    """Float32 Llama forward (transformers' LlamaForCausalLM), last-token logits."""
    n, dim, H, KV = len(ids), cfg["dim"], cfg["heads"], cfg["kv_heads"]
    hd = dim // H
    inv = 1.0 / (cfg["rope_base"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    angles = np.outer(np.arange(n, dtype=np.float64), inv)
    emb = np.concatenate([angles, angles], axis=-1)
    cos, sin = np.cos(emb).astype(np.float32)[:, None, :], np.sin(emb).astype(np.float32)[:, None, :]
    mask = np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)
    x = w["embed"][ids].astype(np.float32)
    for L in w["layers"]:
        h = rms_norm(x, L["input_layernorm"], cfg["eps"])
        q = (h @ L["q_proj"].T).reshape(n, H, hd)
        k = (h @ L["k_proj"].T).reshape(n, KV, hd)
        v = (h @ L["v_proj"].T).reshape(n, KV, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = H // KV
        k = np.repeat(k, rep, axis=1)
        v = np.repeat(v, rep, axis=1)
        scores = np.einsum("qhd,khd->hqk", q, k) / np.float32(np.sqrt(hd)) + mask
        scores = scores - scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        p = p / p.sum(axis=-1, keepdims=True)
        att = np.einsum("hqk,khd->qhd", p, v).reshape(n, dim)
        x = x + att @ L["o_proj"].T
        h = rms_norm(x, L["post_attention_layernorm"], cfg["eps"])
        g = h @ L["gate_proj"].T
        u = h @ L["up_proj"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ L["down_proj"].T
    x = rms_norm(x[-1:], w["norm"], cfg["eps"])
    return (x @ w["lm_head"].T)[0]


def make_adapter(w):
    """Deterministic random A [r, in], B [out, r] in HF layout; values k * 2^-e, exact in F16/BF16."""
    rng = np.random.default_rng(20261129)
    tensors = {}
    for layer, modules in TARGETS:
        for m in modules:
            out_dim, in_dim = w["layers"][layer][m].shape
            a = rng.integers(-127, 128, size=(RANK, in_dim)).astype(np.float32) / 256  # |a| < 1/2
            b = rng.integers(-127, 128, size=(out_dim, RANK)).astype(np.float32) / 512  # |b| < 1/4
            name = f"base_model.model.model.layers.{layer}.{PREFIX[m]}.{m}"
            tensors[name + ".lora_A.weight"] = a
            tensors[name + ".lora_B.weight"] = b
    return tensors


def merge(w, adapter):
    scale = np.float32(ALPHA / RANK)
    merged = dict(w, layers=[dict(L) for L in w["layers"]])
    for layer, modules in TARGETS:
        for m in modules:
            name = f"base_model.model.model.layers.{layer}.{PREFIX[m]}.{m}"
            delta = scale * (adapter[name + ".lora_B.weight"] @ adapter[name + ".lora_A.weight"])
            merged["layers"][layer][m] = (merged["layers"][layer][m] + delta).astype(np.float32)
    return merged


def write_safetensors(path, tensors):
    header, body = {"__metadata__": {"format": "pt"}}, bytearray()
    for name in sorted(tensors):
        data = tensors[name].astype("<f2").tobytes()  # exact: see make_adapter
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    js = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + bytes(body))


def top(logits, k):
    order = np.argsort(-logits, kind="stable")[:k]
    return {"ids": [int(i) for i in order], "logits": [round(float(logits[i]), 5) for i in order]}


def main():
    model_path, out_dir = sys.argv[1], sys.argv[2]
    tensors, cfg = load(model_path)
    base = hf_weights(tensors, cfg)
    adapter = make_adapter(base)
    for name, t in adapter.items():
        assert np.array_equal(t.astype(np.float16).astype(np.float32), t), name
    merged = merge(base, adapter)

    adapter_dir = os.path.join(out_dir, "lora-adapter")
    os.makedirs(adapter_dir, exist_ok=True)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "r": RANK, "lora_alpha": ALPHA, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
        "use_rslora": False, "use_dora": False, "rank_pattern": {}, "alpha_pattern": {},
        "target_modules": ALL_MODULES, "modules_to_save": None, "layers_to_transform": None,
        "inference_mode": True,
    }
    with open(os.path.join(adapter_dir, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), adapter)

    cases = []
    for ids in CASES:
        b = forward(base, cfg, np.array(ids))
        m = forward(merged, cfg, np.array(ids))
        cases.append({"input_ids": ids, "base": top(b, TOP), "lora": top(m, TOP),
                      "max_logit_change": round(float(np.max(np.abs(m - b))), 4)})
        print(ids, "top1 base", int(np.argmax(b)), "lora", int(np.argmax(m)), "max |change|", float(np.max(np.abs(m - b))), file=sys.stderr)
    out = {
        "reference": "scripts/lora_fixture_gen.py: numpy float32 forward on the GGUF dequantised to HF layout "
                     "(Q/K un-permuted, rotate_half RoPE), adapter merged as W += alpha/r * B @ A; last-token logits",
        "adapter": "lora-adapter", "rank": RANK, "alpha": ALPHA, "top": TOP, "cases": cases,
    }
    with open(os.path.join(out_dir, "lora_expected.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
