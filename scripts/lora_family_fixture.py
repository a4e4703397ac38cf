#!/usr/bin/env python3
"""PEFT LoRA fixtures for a Qwen 2 and a Gemma 3 model, with llama.cpp's merged-weights reference
(and its run-time LoRA), for Tests/ModelTests/LoRAFamilyTests.swift.

Run with bench/.venv's python (llama-cpp-python 0.3.36, gguf 0.19.0, numpy; `make test-models`
builds that venv and the Qwen2 file, `make models` fetches Gemma 3):

    bench/.venv/bin/python scripts/lora_family_fixture.py [qwen2] [gemma3]

For each family (both by default) it:

  1. makes a small deterministic adapter in Hugging Face layout (rank 4, alpha 8, so scale 2; the
     target_modules q_proj k_proj v_proj o_proj gate_proj up_proj down_proj on a few layers, never
     lm_head) and writes Tests/ModelTests/Fixtures/lora-<name>/{adapter_config.json,
     adapter_model.safetensors}. Every value is k * 2^-e with |k| < 128, exact in F16 (the file's
     dtype), BF16 and F32.
  2. writes two copies of the base GGUF with gguf's GGUFWriter (metadata and every other tensor
     copied byte for byte, in the same order) under models/lora-merged/ (git-ignored, never
     committed):
       <name>.merged.gguf     each adapted tensor replaced by W + alpha/r * B @ A in F32, W the
                              base tensor dequantised with gguf.quants
       <name>.dequant.gguf    the same tensors dequantised to F32 with no delta (the calibration:
                              the only difference from the base file is that llama.cpp multiplies
                              these tensors in F32, without quantising the activations)
     and the adapter as llama.cpp's own LoRA GGUF, <name>.lora.gguf (A and B in F32 as saved),
     and <name>.lora-wrong-permutation.gguf, the same with q/k B rows permuted as for Llama.
  3. runs llama.cpp (low-level API: llama_tokenize, one llama_batch per prompt with logits for the
     last token only, flash attention off, use_extra_bufts False, n_threads 2) for 3 prompts on
       base          the base file
       dequantized   the dequantised copy
       merged        the merged copy: THE reference (the adapter's meaning, independent of how
                     any runtime applies it)
       runtime_lora  the base file with <name>.lora.gguf applied by llama.cpp at run time: the
                     engine's own arithmetic (quantised base product + float B (A x)), up to
                     the order of float sums (which Gemma 3's quantised pass amplifies: a 2^-22
                     change of the LoRA scale moves its top logits by up to 0.73)
     (the wrong-permutation adapter's distances are recorded in each case, not used by the tests)
     and writes the last position's top 20 ids and logits of each to
     Tests/ModelTests/Fixtures/lora_<name>_expected.json, with the base file's SHA-256 and size
     (and the copies' SHA-256s, for the record).

No q/k row permutation, checked in llama.cpp's converter (vendor/llama.cpp of llama-cpp-python
0.3.36: convert_hf_to_gguf.py dispatches to conversion/*.py):
  - conversion/qwen.py, `Qwen2Model(TextModel)` (registered for Qwen2ForCausalLM): its
    modify_tensors only renames (`Qwen2Model` -> `model.` prefix) and calls TextModel's, which maps
    the name (conversion/base.py; the optional QKV/expert fusion concatenates, never reorders rows).
    Only `LlamaModel.permute` (conversion/llama.py, and the copies in deci/deepseek/llada/bailingmoe
    /kimivl) reorders q/k rows, and Qwen2Model does not derive from LlamaModel.
  - conversion/gemma.py, `Gemma3Model(TextModel)`: modify_tensors drops the out-of-vocabulary rows
    of embed_tokens and adds 1 to every `*norm.weight` (Gemma3RMSNorm computes x * (1 + w)); the
    projections pass through unchanged.
  - convert_lora_to_gguf.py converts an adapter through the same model class's modify_tensors
    (LoraTorchTensor), so it applies to lora_B exactly what the weights got: nothing here.
Both families use NEOX RoPE (rotate the two halves of each head, as Hugging Face's rotate_half
does), so the GGUF rows are Hugging Face's rows and the adapter's B applies as saved. The engine
must therefore NOT permute B for these (LoRATargets.permutedQK is true only for `llama`); the tests
check that permuting would miss these references by several times their tolerances.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lora_fixture_gen import write_safetensors  # noqa: E402  (F16 PEFT safetensors, shared)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "ModelTests" / "Fixtures"
MERGED_DIR = REPO / "models" / "lora-merged"

RANK = 4
ALPHA = 8  # scale alpha / r = 2
TOP = 20
ALL_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GGUF_NAME = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
             "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}
PARENT = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
          "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}

# A = kA * 2^-a_exp, B = kB * 2^-b_exp (|k| < 128); the exponents size the delta to a fraction of
# the base weights (Qwen2-tiny's random weights have std 0.06-0.12, Gemma 3 270M's 0.014-0.04).
FAMILIES = {
    "qwen2": {
        "model": "models/fixtures/qwen2-tiny.gguf",
        "make": "make test-models",
        "base_model": "qwen2-tiny (scripts/make_family_fixtures.py)",
        "seed": 20260201,
        "a_exp": 8, "b_exp": 14,
        # layer 1 gets every module; q/k on the others so the permutation matters in each.
        "targets": [
            (0, ["q_proj", "k_proj", "v_proj", "down_proj"]),
            (1, ALL_MODULES),
            (2, ["q_proj", "k_proj", "o_proj", "gate_proj", "up_proj"]),
        ],
        "prompts": ["The quick brown fox jumps over", "def add(a, b):\n    return", "Water boils at 100 degrees"],
    },
    "gemma3": {
        "model": "models/gemma-3-270m-q4_k_m.gguf",
        "make": "make models",
        "base_model": "google/gemma-3-270m (Q4_K_M GGUF)",
        "seed": 20260202,
        "a_exp": 8, "b_exp": 12,
        # a sliding-window layer (3) and a global one (5, = 6k+5), every module on each; no lm_head.
        "targets": [(3, ALL_MODULES), (5, ALL_MODULES)],
        "prompts": ["The capital of France is", "def fibonacci(n):\n",
                    "Once upon a time, in a small village at the edge of a great forest, there lived an old "
                    "woodcutter and his three daughters. Every morning, the eldest"],
    },
}

SETTINGS = {"n_threads": 2, "n_threads_batch": 2, "n_ctx": 512, "n_batch": 512, "n_ubatch": 512,
            "flash_attn_type": 0, "n_gpu_layers": 0, "use_extra_bufts": False,
            "tokenize": "llama_tokenize(add_special=True, parse_special=False)",
            "decode": "one llama_batch with every prompt token, logits for the last only; fresh context per prompt"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def f32(x) -> float:
    """A float32 as the shortest decimal that reads back to the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


# ---------------------------------------------------------------------------------------------
# The adapter

def module_name(layer: int, m: str) -> str:
    return f"base_model.model.model.layers.{layer}.{PARENT[m]}.{m}"


def make_adapter(spec: dict, shapes: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """A [r, inputs] and B [outputs, r] in Hugging Face layout, deterministic."""
    rng = np.random.default_rng(spec["seed"])
    out = {}
    for layer, modules in spec["targets"]:
        for m in modules:
            rows, cols = shapes[f"blk.{layer}.{GGUF_NAME[m]}.weight"]
            a = rng.integers(-127, 128, size=(RANK, cols)).astype(np.float32) / np.float32(2 ** spec["a_exp"])
            b = rng.integers(-127, 128, size=(rows, RANK)).astype(np.float32) / np.float32(2 ** spec["b_exp"])
            out[module_name(layer, m) + ".lora_A.weight"] = a
            out[module_name(layer, m) + ".lora_B.weight"] = b
    for name, t in out.items():
        assert np.array_equal(t.astype(np.float16).astype(np.float32), t), name
    return out


def write_adapter(name: str, spec: dict, tensors: dict[str, np.ndarray]) -> Path:
    d = FIXTURES / f"lora-{name}"
    d.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": spec["base_model"],
        "r": RANK, "lora_alpha": ALPHA, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
        "use_rslora": False, "use_dora": False, "rank_pattern": {}, "alpha_pattern": {},
        "target_modules": ALL_MODULES, "modules_to_save": None,
        "layers_to_transform": sorted({layer for layer, _ in spec["targets"]}),
        "inference_mode": True,
    }
    with open(d / "adapter_config.json", "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(d / "adapter_model.safetensors", tensors)
    return d


# ---------------------------------------------------------------------------------------------
# The merged GGUF

def dequantized(t) -> np.ndarray:
    """A tensor as float32 [rows, cols] (ggml's dims are {cols, rows})."""
    w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
    return w.reshape([int(d) for d in reversed(t.shape)])


def write_gguf(reader: gguf.GGUFReader, arch: str, path: Path, replace: dict[str, np.ndarray]) -> None:
    """A copy of the file the reader read, with the tensors in `replace` stored as F32."""
    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name == gguf.Keys.General.ALIGNMENT:
            raise SystemExit(f"{path}: the base file sets general.alignment, which this copy does not handle")
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    data = []
    for t in reader.tensors:
        if t.name in replace:
            a = np.ascontiguousarray(replace[t.name], dtype=np.float32)
            w.add_tensor_info(t.name, a.shape, a.dtype, a.nbytes)
        else:
            a = t.data
            w.add_tensor_info(t.name, a.shape, a.dtype, a.nbytes, t.tensor_type)
        data.append(a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for a in data:
        w.write_tensor_data(a, tensor_endianess=reader.endianess)
    w.close()
    os.replace(tmp, path)


def llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf.py's LlamaModel.permute (rows as (head, 2, head_dim/2) -> (head, head_dim/2, 2)):
    what the converter does to Llama's q/k rows, and so what an engine that wrongly treated these
    families like Llama would do to B."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_lora_gguf(arch: str, path: Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """The adapter as llama.cpp's own LoRA GGUF (what convert_lora_to_gguf.py writes for these
    families: no permutation): <tensor>.lora_a = A [r, inputs] (ggml ne {inputs, r}) and
    <tensor>.lora_b = B [outputs, r] (ne {r, outputs}), here in F32 so llama.cpp's LoRA products
    take unquantised activations, as the engine's do."""
    tmp = path.with_suffix(".tmp")
    w = gguf.GGUFWriter(str(tmp), arch)
    w.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(ALPHA))
    for name, (a, b) in pairs.items():
        w.add_tensor(name + ".lora_a", np.ascontiguousarray(a, dtype=np.float32))
        w.add_tensor(name + ".lora_b", np.ascontiguousarray(b, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# llama.cpp, low-level API

def quiet_logs():
    import llama_cpp as L

    @L.llama_log_callback
    def cb(level, text, _user):  # ggml_log_level: WARN 3, ERROR 4; CONT 5 continues the last
        if level in (3, 4):
            sys.stderr.write(text.decode("utf-8", "replace"))

    quiet_logs.cb = cb  # keep it alive
    L.llama_log_set(cb, ctypes.c_void_p(0))


def llama_logits(path: Path, prompts: list[str], lora: Path | None = None) -> tuple[list[list[int]], list[np.ndarray]]:
    """Last-position logits of each prompt; with `lora`, that GGUF adapter applied at run time
    (llama_adapter_lora_init, scale 1: llama.cpp multiplies by adapter.lora.alpha / rank itself)."""
    import llama_cpp as L

    mp = L.llama_model_default_params()
    mp.n_gpu_layers = SETTINGS["n_gpu_layers"]
    mp.use_extra_bufts = SETTINGS["use_extra_bufts"]
    model = L.llama_model_load_from_file(str(path).encode(), mp)
    if not model:
        raise SystemExit(f"llama.cpp could not load {path}")
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    adapter = None
    if lora is not None:
        adapter = L.llama_adapter_lora_init(model, str(lora).encode())
        if not adapter:
            raise SystemExit(f"llama.cpp could not load the adapter {lora}")
    all_ids, all_logits = [], []
    try:
        for text in prompts:
            data = text.encode()
            arr = (L.llama_token * (len(data) + 16))()
            n = L.llama_tokenize(vocab, data, len(data), arr, len(arr), True, False)
            assert n > 0, text
            ids = list(arr[:n])
            cp = L.llama_context_default_params()
            for k in ("n_ctx", "n_batch", "n_ubatch", "n_threads", "n_threads_batch", "flash_attn_type"):
                setattr(cp, k, SETTINGS[k])
            cp.n_seq_max = 1
            ctx = L.llama_init_from_model(model, cp)
            if not ctx:
                raise SystemExit("llama_init_from_model failed")
            if adapter is not None:
                adapters = (L.llama_adapter_lora_p_ctypes * 1)(adapter)
                if L.llama_set_adapters_lora(ctx, adapters, 1, (ctypes.c_float * 1)(1.0)) != 0:
                    raise SystemExit("llama_set_adapters_lora failed")
            batch = L.llama_batch_init(len(ids), 0, 1)
            try:
                batch.n_tokens = len(ids)
                for i, t in enumerate(ids):
                    batch.token[i] = t
                    batch.pos[i] = i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = i == len(ids) - 1
                rc = L.llama_decode(ctx, batch)
                if rc != 0:
                    raise SystemExit(f"llama_decode returned {rc}")
                logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, -1), shape=(n_vocab,)).copy()
            finally:
                L.llama_batch_free(batch)
                L.llama_free(ctx)
            all_ids.append(ids)
            all_logits.append(logits)
    finally:
        if adapter is not None:
            L.llama_adapter_lora_free(adapter)
        L.llama_model_free(model)
    return all_ids, all_logits


def top(logits: np.ndarray) -> dict:
    order = sorted(np.argpartition(-logits, TOP)[:TOP].tolist(), key=lambda i: (-logits[i], i))
    return {"ids": [int(i) for i in order], "logits": [f32(logits[i]) for i in order]}


def at(logits: np.ndarray, ref: np.ndarray) -> float:
    """The largest |difference| of two logit vectors at ref's top ids."""
    ids = np.argsort(-ref, kind="stable")[:TOP]
    return float(np.max(np.abs(logits[ids] - ref[ids])))


# ---------------------------------------------------------------------------------------------

def run(name: str) -> None:
    spec = FAMILIES[name]
    base_path = REPO / spec["model"]
    if not base_path.exists():
        raise SystemExit(f"{spec['model']} missing: run `{spec['make']}`")
    reader = gguf.GGUFReader(str(base_path))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    assert arch == name, f"{base_path} is {arch}, expected {name}"
    tensors = {t.name: t for t in reader.tensors}
    shapes = {n: tuple(int(d) for d in reversed(t.shape)) for n, t in tensors.items()}

    adapter = make_adapter(spec, shapes)
    adapter_dir = write_adapter(name, spec, adapter)
    scale = np.float32(ALPHA / RANK)
    merged, plain, pairs = {}, {}, {}
    for layer, modules in spec["targets"]:
        for m in modules:
            tname = f"blk.{layer}.{GGUF_NAME[m]}.weight"
            w = dequantized(tensors[tname])
            # Hugging Face layout is GGUF layout for qwen2 and gemma3: no permutation (see the docstring).
            delta = scale * (adapter[module_name(layer, m) + ".lora_B.weight"] @ adapter[module_name(layer, m) + ".lora_A.weight"])
            plain[tname] = w
            merged[tname] = (w + delta).astype(np.float32)
            pairs[tname] = (adapter[module_name(layer, m) + ".lora_A.weight"], adapter[module_name(layer, m) + ".lora_B.weight"])
    MERGED_DIR.mkdir(parents=True, exist_ok=True)
    merged_path, plain_path = MERGED_DIR / f"{name}.merged.gguf", MERGED_DIR / f"{name}.dequant.gguf"
    write_gguf(reader, arch, merged_path, merged)
    write_gguf(reader, arch, plain_path, plain)
    lora_path = MERGED_DIR / f"{name}.lora.gguf"
    write_lora_gguf(arch, lora_path, pairs)
    # The same adapter with q/k B rows permuted as for Llama: how far a wrong permutation lands.
    heads = {"attn_q": int(reader.fields[f"{arch}.attention.head_count"].contents()),
             "attn_k": int(reader.fields[f"{arch}.attention.head_count_kv"].contents())}
    wrong = {t: (a, llama_permute(b, heads[t.split(".")[2]]) if t.split(".")[2] in heads else b) for t, (a, b) in pairs.items()}
    wrong_path = MERGED_DIR / f"{name}.lora-wrong-permutation.gguf"
    write_lora_gguf(arch, wrong_path, wrong)
    del reader

    quiet_logs()
    ids, base = llama_logits(base_path, spec["prompts"])
    ids2, deq = llama_logits(plain_path, spec["prompts"])
    ids3, lora = llama_logits(merged_path, spec["prompts"])
    ids4, runtime = llama_logits(base_path, spec["prompts"], lora=lora_path)
    ids5, permuted = llama_logits(base_path, spec["prompts"], lora=wrong_path)
    assert ids == ids2 == ids3 == ids4 == ids5

    import llama_cpp
    cases = []
    for text, i, b, d, m, r, p in zip(spec["prompts"], ids, base, deq, lora, runtime, permuted):
        cases.append({"prompt": text, "input_ids": i, "base": top(b), "dequantized": top(d), "merged": top(m),
                      "runtime_lora": top(r), "max_change": round(at(b, m), 4), "dequantized_vs_base": round(at(d, b), 5),
                      "runtime_vs_merged": round(at(r, m), 5), "wrong_permutation_vs_merged": round(at(p, m), 4),
                      "wrong_permutation_vs_runtime": round(at(p, r), 4)})
        print(f"{name} {text!r}: top1 base {int(np.argmax(b))} merged {int(np.argmax(m))} runtime {int(np.argmax(r))}; "
              f"at the top {TOP}: |merged - base| {at(b, m):.3f}, |dequant - base| {at(d, b):.4f}, "
              f"|runtime LoRA - merged| {at(r, m):.4f}, |wrong permutation - merged| {at(p, m):.3f}, "
              f"- runtime {at(p, r):.3f}", file=sys.stderr)
    out = {
        "generator": "scripts/lora_family_fixture.py",
        "reference": "llama.cpp's last-position logits on a copy of the base GGUF with the adapter merged "
                     "(W += alpha/r * B @ A on the dequantised weights, stored F32; no q/k permutation: NEOX RoPE)",
        "model": {"path": spec["model"], "sha256": sha256_file(base_path), "size": base_path.stat().st_size,
                  "architecture": arch, "make": spec["make"]},
        "merged_file": {"path": str(merged_path.relative_to(REPO)), "sha256": sha256_file(merged_path),
                        "tensors_f32": sorted(merged)},
        "dequantized_file": {"path": str(plain_path.relative_to(REPO)), "sha256": sha256_file(plain_path)},
        "lora_gguf": {"path": str(lora_path.relative_to(REPO)), "sha256": sha256_file(lora_path)},
        "adapter": adapter_dir.name, "rank": RANK, "alpha": ALPHA,
        "layers": [layer for layer, _ in spec["targets"]],
        "modules": {str(layer): mods for layer, mods in spec["targets"]},
        "llama_cpp": {"llama_cpp_python": llama_cpp.__version__, **SETTINGS},
        "top": TOP,
        "cases": cases,
    }
    with open(FIXTURES / f"lora_{name}_expected.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    size = sum(p.stat().st_size for p in adapter_dir.iterdir())
    print(f"{name}: wrote {adapter_dir.relative_to(REPO)} ({size} bytes), "
          f"{(FIXTURES / f'lora_{name}_expected.json').relative_to(REPO)}, {merged_path.relative_to(REPO)}", file=sys.stderr)


def main() -> int:
    names = sys.argv[1:] or list(FAMILIES)
    for n in names:
        if n not in FAMILIES:
            raise SystemExit(f"unknown family {n!r} (choose from {', '.join(FAMILIES)})")
    for n in names:
        run(n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
