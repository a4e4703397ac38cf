#!/usr/bin/env python3
"""Test models for every model family and GGUF tensor type (run by scripts/make-test-models.sh).

With bench/.venv's python (numpy, gguf==0.19.0, llama-cpp-python 0.3.36):

    bench/.venv/bin/python scripts/make_family_fixtures.py [--only NAME ...] [--force] [--list]

Makes, each only when missing or when its SHA-256 differs from the one its reference
(Tests/ModelTests/Fixtures/families/<file-stem>.json, written by scripts/family_reference.py)
records:

  models/quant/SmolLM2-135M-Instruct.<TYPE>.gguf
      the default model re-quantised by llama.cpp's own quantiser (llama_model_quantize with
      llama_model_quantize_default_params(), allow_requantize, the ftype of <TYPE>).
  models/fixtures/<family>-tiny.gguf
      tiny random-weight models (seeded numpy, written with gguf.GGUFWriter) in the layout that
      llama.cpp's convert_hf_to_gguf.py writes for llama (Llama 3.1), qwen2 (Qwen2.5), qwen3 and
      gemma2; 2-D weights F16 (gemma2's 262k-row token_embd Q8_0), 1-D tensors F32, as
      `convert_hf_to_gguf.py --outtype f16` writes them.
  models/fixtures/<family>-tiny.<TYPE>.gguf
      each tiny model re-quantised by llama.cpp into Q4_K_M and Q8_0; llama3-tiny also into
      Q2_K, Q3_K_M, Q5_K_M, Q6_K and IQ4_XS (types SmolLM2's width 576 mostly falls back from).

Every output is written to a temporary file and renamed when complete; the same inputs give
byte-identical files (no timestamps; numpy's PCG64 seeded per tensor).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
DEFAULT_MODEL = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_MODEL = MODELS / "gemma-3-270m-q4_k_m.gguf"
QUANT_DIR = MODELS / "quant"
FIXTURE_DIR = MODELS / "fixtures"
REF_DIR = REPO / "Tests" / "ModelTests" / "Fixtures" / "families"
TEMPLATE_DIR = REF_DIR / "templates"

# The default model's re-quantisations: name -> llama_ftype (llama.h / llama_cpp.py LLAMA_FTYPE_*).
DEFAULT_TYPES = {
    "F32": 0,      # LLAMA_FTYPE_ALL_F32
    "F16": 1,      # LLAMA_FTYPE_MOSTLY_F16
    "BF16": 32,    # LLAMA_FTYPE_MOSTLY_BF16
    "Q4_0": 2,     # LLAMA_FTYPE_MOSTLY_Q4_0
    "Q5_0": 8,     # LLAMA_FTYPE_MOSTLY_Q5_0
    "Q5_1": 9,     # LLAMA_FTYPE_MOSTLY_Q5_1
    "Q8_0": 7,     # LLAMA_FTYPE_MOSTLY_Q8_0
    "Q2_K": 10,    # LLAMA_FTYPE_MOSTLY_Q2_K
    "Q3_K_M": 12,  # LLAMA_FTYPE_MOSTLY_Q3_K_M
    "Q4_K_M": 15,  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    "Q5_K_M": 17,  # LLAMA_FTYPE_MOSTLY_Q5_K_M
    "Q6_K": 18,    # LLAMA_FTYPE_MOSTLY_Q6_K
    "IQ4_NL": 25,  # LLAMA_FTYPE_MOSTLY_IQ4_NL
    "IQ4_XS": 30,  # LLAMA_FTYPE_MOSTLY_IQ4_XS
}
FIXTURE_TYPES = {"Q4_K_M": 15, "Q8_0": 7}
# The K- and IQ-quants whose SmolLM2 files fall back to other types for most tensors (width 576),
# on every matrix of one fixture (widths multiples of 256).
FIXTURE_EXTRA_TYPES = {"llama3-tiny": {"Q2_K": 10, "Q3_K_M": 12, "Q5_K_M": 17, "Q6_K": 18, "IQ4_XS": 30}}
QUANT_THREADS = 2


def log(msg: str) -> None:
    print(f"  {msg}", flush=True)


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    key = (str(path), path.stat().st_size, path.stat().st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def recorded(path: Path) -> dict:
    """The `file` record of path's reference JSON ({} if none)."""
    ref = REF_DIR / (path.name[: -len(".gguf")] + ".json")
    try:
        return json.loads(ref.read_text()).get("file", {})
    except (OSError, ValueError):
        return {}


def recorded_sha256(path: Path) -> str | None:
    return recorded(path).get("sha256")


def up_to_date(path: Path, force: bool, src: Path | None = None) -> bool:
    """A file is left alone when it exists and its SHA-256 is the one its reference records,
    and, for a re-quantised file, its reference records the SHA-256 its source has now."""
    if force or not path.exists():
        return False
    rec = recorded(path)
    if not rec.get("sha256"):
        # No reference yet (first run): the file is taken as made unless its source is newer;
        # family_reference.py records it.
        if src is not None and src.stat().st_mtime_ns > path.stat().st_mtime_ns:
            log(f"{path.relative_to(REPO)}: older than {src.name}; remaking")
            return False
        return True
    have = sha256_file(path)
    if have != rec["sha256"]:
        log(f"{path.relative_to(REPO)}: SHA-256 {have[:12]}… differs from its reference's {rec['sha256'][:12]}…; remaking")
        return False
    if src is not None:
        want_src = rec.get("source", {}).get("sha256")
        if want_src != sha256_file(src):
            log(f"{path.relative_to(REPO)}: its source {src.name} changed; remaking")
            return False
    return True


def source_of(path: Path) -> tuple[Path, int] | None:
    """(source file, llama ftype) of a file this script makes by quantising, else None."""
    for p, kind, arg in planned():
        if p == path and kind == "quant":
            return arg
    return None


# ---------------------------------------------------------------------------------------------
# llama.cpp's quantiser

def quantize(src: Path, dst: Path, ftype: int) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = QUANT_THREADS
    params.ftype = ftype
    params.allow_requantize = True
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
    if rc != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"llama_model_quantize({src.name} -> {dst.name}, ftype {ftype}) returned {rc}")
    os.replace(tmp, dst)


LLAMA_LOG = {"show": False, "fallbacks": {}}


def quiet_llama_logs() -> None:
    """Keep llama.cpp's warnings and errors, drop its per-tensor info log; the quantiser's
    per-tensor "falling back" warnings are counted (fallback_summary) instead of printed."""
    import ctypes
    import re
    import llama_cpp

    # the quantiser logs a fallback in two calls: "warning: NAME - ncols N not divisible by 256
    # (required for type T) " and "-> falling back to U\n"
    wanted = re.compile(r"not divisible by .*\(required for type\s+(\S+)\)")
    fell = re.compile(r"^(?:\(WARNING: [^)]*\) )?-> falling back to\s+(\S+)")

    # ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the last line)
    @llama_cpp.llama_log_callback
    def cb(level, text, _user):  # noqa: ANN001
        msg = text.decode("utf-8", "replace")
        if level != 5:
            LLAMA_LOG["show"] = level >= 3
        if (m := wanted.search(msg)) is not None:
            LLAMA_LOG["pending"] = m.group(1)
            return
        if LLAMA_LOG.get("pending") and (m := fell.search(msg.strip())) is not None:
            key = f"{LLAMA_LOG.pop('pending')}->{m.group(1)}"
            LLAMA_LOG["fallbacks"][key] = LLAMA_LOG["fallbacks"].get(key, 0) + 1
            return
        if "required fallback quantization" in msg or msg.startswith("(WARNING: must use F16"):
            return
        if LLAMA_LOG["show"]:
            sys.stderr.write(msg)

    quiet_llama_logs.cb = cb  # keep a reference alive
    llama_cpp.llama_log_set(cb, ctypes.c_void_p(0))


def fallback_summary() -> str:
    """The quantiser's fallbacks since the last call, e.g. "; fallbacks: q2_K->q4_0 x180"."""
    fb, LLAMA_LOG["fallbacks"] = LLAMA_LOG["fallbacks"], {}
    return "; llama.cpp fell back: " + ", ".join(f"{k} x{v}" for k, v in sorted(fb.items())) if fb else ""


# A small GGUF reader (header only): gguf.GGUFReader builds numpy views of every array item,
# which takes ~20 s for a 262k-token vocabulary; this reads the same in well under a second.
_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}  # 8: string, 9: array


def read_gguf_header(path: Path) -> tuple[dict, list[tuple[str, list[int], int]]]:
    """(metadata {key: value}, [(tensor name, ne, ggml type id)]) of a GGUF file."""
    import struct

    if not path.exists():
        raise SystemExit(f"{path} is missing (make models fetches the default models)")
    data = path.read_bytes() if path.stat().st_size < (64 << 20) else None
    with open(path, "rb") as f:
        if data is None:
            import mmap
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from(fmt, data, off)[0]
        off += struct.calcsize(fmt)
        return v

    def string():
        nonlocal off
        n = take("<Q")
        v = bytes(data[off:off + n]).decode("utf-8")
        off += n
        return v

    def value(t):
        nonlocal off
        if t == 8:
            return string()
        if t == 9:
            it, n = take("<I"), take("<Q")
            if it == 8:
                return [string() for _ in range(n)]
            fmt = _GGUF_SCALARS[it]
            size = struct.calcsize(fmt)
            arr = np.frombuffer(data, dtype=np.dtype(fmt), count=n, offset=off)
            off += n * size
            return arr.tolist()
        return take(_GGUF_SCALARS[t])

    if bytes(data[:4]) != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    off = 4
    _version, n_tensors, n_kv = take("<I"), take("<Q"), take("<Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        ttype = take("<I")
        take("<Q")  # offset
        tensors.append((name, ne, ttype))
    return meta, tensors


def smollm2_vocab() -> dict:
    meta, _ = read_gguf_header(DEFAULT_MODEL)
    return {
        "tokens": list(meta["tokenizer.ggml.tokens"]),
        "types": list(meta["tokenizer.ggml.token_type"]),
        "merges": list(meta["tokenizer.ggml.merges"]),
    }


def gemma3_vocab() -> dict:
    meta, _ = read_gguf_header(GEMMA3_MODEL)
    return {
        "tokens": list(meta["tokenizer.ggml.tokens"]),
        "scores": list(meta["tokenizer.ggml.scores"]),
        "types": list(meta["tokenizer.ggml.token_type"]),
    }


CONTROL, USER_DEFINED = 3, 4  # gguf.TokenType


def extend_vocab(vocab: dict, extra: list[tuple[str, int]]) -> dict[str, int]:
    """Append tokens not already in the vocabulary; returns every listed token's id."""
    index = {t: i for i, t in enumerate(vocab["tokens"])}
    for text, ttype in extra:
        if text in index:
            if vocab["types"][index[text]] != ttype:
                vocab["types"][index[text]] = ttype
            continue
        index[text] = len(vocab["tokens"])
        vocab["tokens"].append(text)
        vocab["types"].append(ttype)
    return {text: index[text] for text, _ in extra}


def template(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Random weights

class Weights:
    """Seeded tensors: each tensor has its own PCG64 stream (seed, tensor index), so adding a
    tensor never changes the others."""

    def __init__(self, seed: int):
        self.seed = seed
        self.n = 0

    def normal(self, shape, std: float, mean: float = 0.0) -> np.ndarray:
        rng = np.random.Generator(np.random.PCG64([self.seed, self.n]))
        self.n += 1
        x = rng.standard_normal(size=shape, dtype=np.float32)
        return (x * np.float32(std) + np.float32(mean)).astype(np.float32)


def add_matrix(w, name: str, data: np.ndarray, qtype: str = "F16") -> None:
    from gguf import GGMLQuantizationType, quants

    if qtype == "F16":
        w.add_tensor(name, data.astype(np.float16))
    elif qtype == "F32":
        w.add_tensor(name, data.astype(np.float32))
    else:  # a quantised type gguf's quants module writes (Q8_0, Q4_0, ...)
        t = getattr(GGMLQuantizationType, qtype)
        w.add_tensor(name, quants.quantize(data.astype(np.float32), t), raw_dtype=t)


def llama3_rope_factors(head_dim: int, base: float, factor: float, low_freq_factor: float,
                        high_freq_factor: float, old_context_len: int) -> np.ndarray:
    """convert_hf_to_gguf.py LlamaModel.generate_extra_tensors (rope_type llama3), in float32 as
    torch computes freqs there."""
    freqs = 1.0 / (np.float32(base) ** (np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)))
    freqs = freqs.astype(np.float32)
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / float(freq)
        if wavelen < high_freq_wavelen:
            out.append(1.0)
        elif wavelen > low_freq_wavelen:
            out.append(factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The families. Sizes: every matrix dimension a multiple of 256 so that the K-quant kernels run
# on every matrix of the Q4_K_M files.

FAMILIES = {
    "llama3-tiny": dict(
        arch="llama", seed=1003, n_layer=3, n_embd=256, n_ff=768, n_head=4, n_head_kv=2, head_dim=64,
        ctx=131072, rope_base=500000.0, rms_eps=1e-5, tied=False,
        std=dict(embd=1.0, q=0.12, k=0.12, v=0.09, o=0.09, gate=0.09, up=0.09, down=0.06, out=0.12, norm=0.1,
                 row_lognormal=0.35),
    ),
    "qwen2-tiny": dict(
        arch="qwen2", seed=2005, n_layer=3, n_embd=256, n_ff=768, n_head=4, n_head_kv=2, head_dim=64,
        ctx=32768, rope_base=1000000.0, rms_eps=1e-6, tied=True,
        std=dict(embd=0.6, q=0.12, k=0.12, v=0.09, o=0.09, gate=0.09, up=0.09, down=0.06, norm=0.1,
                 q_bias=0.3, k_bias=0.6, v_bias=0.05),
    ),
    "qwen3-tiny": dict(
        arch="qwen3", seed=3001, n_layer=3, n_embd=256, n_ff=768, n_head=4, n_head_kv=2, head_dim=128,
        ctx=40960, rope_base=1000000.0, rms_eps=1e-6, tied=False,
        std=dict(embd=1.0, q=0.12, k=0.12, v=0.09, o=0.09, gate=0.09, up=0.09, down=0.06, out=0.12, norm=0.1,
                 row_lognormal=0.35),
    ),
    "gemma2-tiny": dict(
        arch="gemma2", seed=4002, n_layer=4, n_embd=256, n_ff=768, n_head=4, n_head_kv=2, head_dim=128,
        ctx=8192, rms_eps=1e-6, tied=True, sliding_window=32, attn_softcap=50.0, final_softcap=30.0,
        # norms as stored (convert adds Gemma's +1): post-norms ~3 and the final norm ~10 make the
        # layers outweigh the (tied, sqrt(n_embd)-scaled) embedding, and bring attention scores and
        # logits into the range where the soft-caps (50, 30) bend them
        std=dict(embd=0.05, q=0.3, k=0.3, v=0.09, o=0.09, gate=0.09, up=0.09, down=0.06, norm=0.1,
                 post_norm=3.0, output_norm=10.0),
    ),
}


# Bump when write_family changes what it writes for the same spec.
GENERATOR_VERSION = 1


def spec_fingerprint(name: str) -> str:
    """Written into general.description, so that a fixture made from another spec or generator
    version is remade even while its (then stale) reference records its SHA-256."""
    text = json.dumps({"v": GENERATOR_VERSION, "name": name, **FAMILIES[name]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def family_up_to_date(name: str, path: Path) -> bool:
    try:
        meta, _ = read_gguf_header(path)
    except (OSError, ValueError, SystemExit):
        return False
    if f"spec {spec_fingerprint(name)}" in str(meta.get("general.description", "")):
        return True
    log(f"{path.relative_to(REPO)}: made from another spec of {name}; remaking")
    return False


def write_family(name: str, dst: Path) -> None:
    import gguf

    spec = FAMILIES[name]
    arch = spec["arch"]
    std = spec["std"]
    n_layer, n_embd, n_ff = spec["n_layer"], spec["n_embd"], spec["n_ff"]
    n_head, n_head_kv, head_dim = spec["n_head"], spec["n_head_kv"], spec["head_dim"]
    q_dim, kv_dim = n_head * head_dim, n_head_kv * head_dim
    W = Weights(spec["seed"])

    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    w = gguf.GGUFWriter(tmp, arch)

    # general.* ----------------------------------------------------------------------------
    w.add_type("model")
    w.add_name(f"{name} (random weights, test fixture)")
    w.add_description(
        f"Random-weight {arch} model in the layout convert_hf_to_gguf.py writes; made by "
        f"scripts/make_family_fixtures.py (seed {spec['seed']}, spec {spec_fingerprint(name)}). Not a language model."
    )
    w.add_license("apache-2.0" if arch != "gemma2" else "gemma")

    # hyper-parameters, in convert_hf_to_gguf.py's order -------------------------------------
    if arch == "gemma2":
        w.add_context_length(spec["ctx"])
        w.add_embedding_length(n_embd)
        w.add_block_count(n_layer)
        w.add_feed_forward_length(n_ff)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_head_kv)
        w.add_layer_norm_rms_eps(spec["rms_eps"])
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        w.add_attn_logit_softcapping(spec["attn_softcap"])
        w.add_final_logit_softcapping(spec["final_softcap"])
        w.add_sliding_window(spec["sliding_window"])
    else:
        w.add_block_count(n_layer)
        w.add_context_length(spec["ctx"])
        w.add_embedding_length(n_embd)
        w.add_feed_forward_length(n_ff)
        w.add_head_count(n_head)
        w.add_head_count_kv(n_head_kv)
        w.add_rope_freq_base(spec["rope_base"])
        w.add_layer_norm_rms_eps(spec["rms_eps"])
        if arch == "qwen3":
            w.add_key_length(head_dim)
            w.add_value_length(head_dim)
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

    # tokenizer ------------------------------------------------------------------------------
    if arch == "gemma2":
        voc = gemma3_vocab()
        n_vocab = len(voc["tokens"])
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(voc["tokens"])
        w.add_token_scores(voc["scores"])
        w.add_token_types(voc["types"])
        w.add_bos_token_id(2)
        w.add_eos_token_id(1)
        w.add_unk_token_id(3)
        w.add_pad_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.add_add_space_prefix(False)
        w.add_chat_template(template("google-gemma-2-2b-it.jinja"))
    else:
        voc = smollm2_vocab()
        if arch == "llama":
            ids = extend_vocab(voc, [
                ("<|begin_of_text|>", CONTROL), ("<|end_of_text|>", CONTROL),
                ("<|start_header_id|>", CONTROL), ("<|end_header_id|>", CONTROL),
                ("<|eom_id|>", CONTROL), ("<|eot_id|>", CONTROL), ("<|python_tag|>", CONTROL),
                ("<|finetune_right_pad_id|>", CONTROL),
            ])
            n_vocab = len(voc["tokens"])
            w.add_vocab_size(n_vocab)
            w.add_rope_dimension_count(head_dim)
            w.add_tokenizer_model("gpt2")
            w.add_tokenizer_pre("llama-bpe")
            w.add_token_list(voc["tokens"])
            w.add_token_types(voc["types"])
            w.add_token_merges(voc["merges"])
            w.add_bos_token_id(ids["<|begin_of_text|>"])
            w.add_eos_token_id(ids["<|eot_id|>"])
            w.add_add_bos_token(True)
            w.add_chat_template(template("meta-llama-Llama-3.1-8B-Instruct.jinja"))
        else:
            extra = [("<|endoftext|>", CONTROL), ("<|im_start|>", CONTROL), ("<|im_end|>", CONTROL),
                     ("<tool_call>", USER_DEFINED), ("</tool_call>", USER_DEFINED)]
            if arch == "qwen3":
                extra += [("<tool_response>", USER_DEFINED), ("</tool_response>", USER_DEFINED),
                          ("<think>", USER_DEFINED), ("</think>", USER_DEFINED)]
            ids = extend_vocab(voc, extra)
            n_vocab = len(voc["tokens"])
            w.add_tokenizer_model("gpt2")
            w.add_tokenizer_pre("qwen2")
            w.add_token_list(voc["tokens"])
            w.add_token_types(voc["types"])
            w.add_token_merges(voc["merges"])
            w.add_eos_token_id(ids["<|im_end|>"])
            w.add_pad_token_id(ids["<|endoftext|>"])
            w.add_bos_token_id(ids["<|endoftext|>"])
            w.add_add_bos_token(False)
            w.add_chat_template(template("Qwen-Qwen3-0.6B.jinja" if arch == "qwen3" else "Qwen-Qwen2.5-7B-Instruct.jinja"))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # tensors --------------------------------------------------------------------------------
    def norm(n, mean=1.0):
        return W.normal((n,), std["norm"] * mean, mean=mean)

    if arch == "llama":
        factors = llama3_rope_factors(head_dim, spec["rope_base"], factor=8.0, low_freq_factor=1.0,
                                      high_freq_factor=4.0, old_context_len=8192)
        w.add_tensor("rope_freqs.weight", factors)
    def vocab_rows(sigma):
        # rows scaled by exp(0.5·normal): a heavy-tailed next-token distribution, so that the
        # top-1/top-2 logit margins are seldom tiny (as in a real model, unlike equal-norm rows)
        rows = W.normal((n_vocab, n_embd), sigma)
        return rows * np.exp(W.normal((n_vocab, 1), std["row_lognormal"])) if std.get("row_lognormal") else rows

    add_matrix(w, "token_embd.weight", vocab_rows(std["embd"]) if spec["tied"] else W.normal((n_vocab, n_embd), std["embd"]),
               "Q8_0" if arch == "gemma2" else "F16")
    for il in range(n_layer):
        b = f"blk.{il}"
        # the order of HF's safetensors (alphabetical) as the converter maps them
        w.add_tensor(f"{b}.attn_norm.weight", norm(n_embd))                                  # input_layernorm
        add_matrix(w, f"{b}.ffn_down.weight", W.normal((n_embd, n_ff), std["down"]))         # mlp.down_proj
        add_matrix(w, f"{b}.ffn_gate.weight", W.normal((n_ff, n_embd), std["gate"]))         # mlp.gate_proj
        add_matrix(w, f"{b}.ffn_up.weight", W.normal((n_ff, n_embd), std["up"]))             # mlp.up_proj
        if arch == "gemma2":
            w.add_tensor(f"{b}.post_attention_norm.weight", norm(n_embd, std["post_norm"]))  # post_attention_layernorm
            w.add_tensor(f"{b}.post_ffw_norm.weight", norm(n_embd, std["post_norm"]))        # post_feedforward_layernorm
            w.add_tensor(f"{b}.ffn_norm.weight", norm(n_embd))                               # pre_feedforward_layernorm
        else:
            w.add_tensor(f"{b}.ffn_norm.weight", norm(n_embd))                               # post_attention_layernorm
        if arch == "qwen2":
            w.add_tensor(f"{b}.attn_k.bias", W.normal((kv_dim,), std["k_bias"]))
        if arch == "qwen3":
            w.add_tensor(f"{b}.attn_k_norm.weight", norm(head_dim))                          # self_attn.k_norm
        add_matrix(w, f"{b}.attn_k.weight", W.normal((kv_dim, n_embd), std["k"]))            # self_attn.k_proj
        add_matrix(w, f"{b}.attn_output.weight", W.normal((n_embd, q_dim), std["o"]))        # self_attn.o_proj
        if arch == "qwen2":
            w.add_tensor(f"{b}.attn_q.bias", W.normal((q_dim,), std["q_bias"]))
        if arch == "qwen3":
            w.add_tensor(f"{b}.attn_q_norm.weight", norm(head_dim))                          # self_attn.q_norm
        add_matrix(w, f"{b}.attn_q.weight", W.normal((q_dim, n_embd), std["q"]))             # self_attn.q_proj
        if arch == "qwen2":
            w.add_tensor(f"{b}.attn_v.bias", W.normal((kv_dim,), std["v_bias"]))
        add_matrix(w, f"{b}.attn_v.weight", W.normal((kv_dim, n_embd), std["v"]))            # self_attn.v_proj
    w.add_tensor("output_norm.weight", norm(n_embd, std.get("output_norm", 1.0)))            # model.norm
    if not spec["tied"]:
        add_matrix(w, "output.weight", vocab_rows(std["out"]))                               # lm_head

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, dst)


# ---------------------------------------------------------------------------------------------

def planned() -> list[tuple[Path, str, object]]:
    """(output, kind, arg) in dependency order."""
    out: list[tuple[Path, str, object]] = []
    for t, ftype in DEFAULT_TYPES.items():
        out.append((QUANT_DIR / f"SmolLM2-135M-Instruct.{t}.gguf", "quant", (DEFAULT_MODEL, ftype)))
    for name in FAMILIES:
        base = FIXTURE_DIR / f"{name}.gguf"
        out.append((base, "family", name))
        for t, ftype in {**FIXTURE_TYPES, **FIXTURE_EXTRA_TYPES.get(name, {})}.items():
            out.append((FIXTURE_DIR / f"{name}.{t}.gguf", "quant", (base, ftype)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="file names (or stems) to make; default: all")
    ap.add_argument("--force", action="store_true", help="remake even files that are up to date")
    ap.add_argument("--list", action="store_true", help="print the files this script makes and exit")
    args = ap.parse_args()

    plan = planned()
    if args.list:
        for path, _, _ in plan:
            print(path.relative_to(REPO))
        return 0
    if args.only:
        want = {o[: -len(".gguf")] if o.endswith(".gguf") else o for o in args.only}
        plan = [p for p in plan if p[0].name[: -len(".gguf")] in want]

    QUANT_DIR.mkdir(parents=True, exist_ok=True)
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    quiet_llama_logs()
    remade: set[Path] = set()
    t_all = time.monotonic()
    times = {"quant": 0.0, "family": 0.0}
    for path, kind, arg in plan:
        rel = path.relative_to(REPO)
        src = arg[0] if kind == "quant" else None
        if not (src in remade) and up_to_date(path, args.force, src) and (kind != "family" or family_up_to_date(arg, path)):
            print(f"[ok]   {rel} ({path.stat().st_size / 1e6:.1f} MB, up to date)", flush=True)
            continue
        t0 = time.monotonic()
        if kind == "quant":
            quantize(src, path, arg[1])
        else:
            write_family(arg, path)
        dt = time.monotonic() - t0
        times[kind] += dt
        remade.add(path)
        print(f"[made] {rel} ({path.stat().st_size / 1e6:.1f} MB, {dt:.1f} s{fallback_summary()})", flush=True)
        want = recorded_sha256(path)
        if want is not None and sha256_file(path) != want:
            print(f"[warn] {rel}: its SHA-256 is not the one its reference records (another numpy, gguf or "
                  f"llama.cpp?); scripts/family_reference.py will remake the reference", flush=True)
    print(f"make_family_fixtures: {time.monotonic() - t_all:.1f} s "
          f"(quantising {times['quant']:.1f} s, writing random fixtures {times['family']:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
