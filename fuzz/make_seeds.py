#!/usr/bin/env python3
"""Seed inputs for the fuzz targets (fuzz/README.md), written into fuzz/seeds/TARGET/.

With bench/.venv's python (numpy, gguf==0.19.0; `make test-models` makes it):

    bench/.venv/bin/python fuzz/make_seeds.py

Seeds are real files, small: micro models in each family's GGUF layout written by gguf's own
GGUFWriter (one layer, width 32, a 300-token vocabulary, each family's real chat template), the
repository's own templates, themes, SAE and PEFT configs and corpus shards, and the hostile cases
of the hardening issue (huge context lengths, nested templates, the arithmetic and size traps).
Everything but the sessions is byte-identical from run to run (numpy's PCG64, seeded per tensor;
no timestamps). Session seeds are SQLite files the release binary wrote (`workbench notebook add`),
checkpointed into one file each; they carry the time they were written.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from make_family_fixtures import Weights, add_matrix as matrix  # noqa: E402
SEEDS = REPO / "fuzz" / "seeds"
TEMPLATES = REPO / "Tests" / "ModelTests" / "Fixtures" / "families" / "templates"

NORMAL, CONTROL, USER_DEFINED, BYTE = 1, 3, 4, 6


def out(target: str, name: str, data: bytes | str) -> None:
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data)


# ---------------------------------------------------------------------------------------------
# Micro models

def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character table (the byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe_vocab(specials: list[str]) -> tuple[list[str], list[int], list[str]]:
    alphabet = [bytes_to_unicode()[b] for b in range(256)]
    merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "i n", "Ġ m", "o d", "e l", "Ġm od", "Ġmod el", "r e", "Ġ re"]
    tokens = list(alphabet)
    for m in merges:
        a, b = m.split(" ")
        if a + b not in tokens:
            tokens.append(a + b)
    types = [NORMAL] * len(tokens)
    for s in specials:
        tokens.append(s)
        types.append(CONTROL)
    return tokens, types, merges


def spm_vocab(specials: list[str]) -> tuple[list[str], list[float], list[int]]:
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + specials
    types = [CONTROL, CONTROL, CONTROL, 2] + [CONTROL] * len(specials)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [BYTE] * 256
    pieces = ["▁", "▁the", "▁model", "e", "t", "a", "o", "i", "n", "s", "h", "r", "he", "in", "▁a", "▁m", "el", "od"]
    tokens += pieces
    types += [NORMAL] * len(pieces)
    scores = [0.0] * (len(tokens) - len(pieces)) + [-float(i) for i in range(len(pieces))]
    return tokens, scores, types


def micro_model(path: Path, arch: str, qtype: str = "Q8_0", seed: int = 7, ctx: int = 256,
                extra: dict | None = None, template: str | None = None, name: str | None = None) -> None:
    """One layer, width 32, 2 heads of 16 (1 KV head), feed-forward 64."""
    import gguf

    n_embd, n_ff, n_head, n_head_kv, head_dim = 32, 64, 2, 1, 16
    W = Weights(seed)
    tmp = path.with_name(path.name + ".tmp")
    w = gguf.GGUFWriter(tmp, arch)
    w.add_name(name if name is not None else f"{arch} micro model (fuzz seed)")
    w.add_context_length(ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(1)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    if arch in ("llama", "qwen2", "qwen3"):
        w.add_rope_freq_base(10000.0)
    if arch in ("gemma2", "gemma3"):
        w.add_sliding_window(4)
    if arch == "gemma2":
        w.add_attn_logit_softcapping(50.0)
        w.add_final_logit_softcapping(30.0)
    for key, value in (extra or {}).items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint64(key, value) if value >= 1 << 32 else w.add_uint32(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        else:
            w.add_string(key, value)
    if arch.startswith("gemma"):
        tokens, scores, types = spm_vocab(["<start_of_turn>", "<end_of_turn>"])
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(2)
        w.add_eos_token_id(1)
        w.add_unk_token_id(3)
        w.add_add_bos_token(True)
        w.add_add_space_prefix(False)
        tmpl = template if template is not None else (TEMPLATES / "google-gemma-2-2b-it.jinja").read_text()
    else:
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] if arch != "llama" else \
            ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"]
        tokens, types, merges = bpe_vocab(specials)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm" if arch == "llama" else "qwen2")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(len(tokens) - len(specials))
        w.add_eos_token_id(len(tokens) - 1)
        w.add_add_bos_token(arch == "llama")
        name = {"llama": "meta-llama-Llama-3.1-8B-Instruct.jinja", "qwen2": "Qwen-Qwen2.5-7B-Instruct.jinja",
                "qwen3": "Qwen-Qwen3-0.6B.jinja"}[arch]
        tmpl = template if template is not None else (TEMPLATES / name).read_text()
    if tmpl:
        w.add_chat_template(tmpl)
    n_vocab = len(tokens)
    q_dim, kv_dim = n_head * head_dim, n_head_kv * head_dim
    matrix(w, "token_embd.weight", W.normal((n_vocab, n_embd), 0.5), "F16")
    b = "blk.0"
    w.add_tensor(f"{b}.attn_norm.weight", W.normal((n_embd,), 0.1, 1.0))
    matrix(w, f"{b}.attn_q.weight", W.normal((q_dim, n_embd), 0.2), qtype)
    matrix(w, f"{b}.attn_k.weight", W.normal((kv_dim, n_embd), 0.2), qtype)
    matrix(w, f"{b}.attn_v.weight", W.normal((kv_dim, n_embd), 0.2), qtype)
    matrix(w, f"{b}.attn_output.weight", W.normal((n_embd, q_dim), 0.2), qtype)
    if arch == "qwen2":
        for t, n in (("q", q_dim), ("k", kv_dim), ("v", kv_dim)):
            w.add_tensor(f"{b}.attn_{t}.bias", W.normal((n,), 0.1))
    if arch in ("qwen3", "gemma3"):
        w.add_tensor(f"{b}.attn_q_norm.weight", W.normal((head_dim,), 0.1, 1.0))
        w.add_tensor(f"{b}.attn_k_norm.weight", W.normal((head_dim,), 0.1, 1.0))
    if arch.startswith("gemma"):
        w.add_tensor(f"{b}.post_attention_norm.weight", W.normal((n_embd,), 0.1, 1.0))
        w.add_tensor(f"{b}.post_ffw_norm.weight", W.normal((n_embd,), 0.1, 1.0))
    w.add_tensor(f"{b}.ffn_norm.weight", W.normal((n_embd,), 0.1, 1.0))
    matrix(w, f"{b}.ffn_gate.weight", W.normal((n_ff, n_embd), 0.2), qtype)
    matrix(w, f"{b}.ffn_up.weight", W.normal((n_ff, n_embd), 0.2), qtype)
    matrix(w, f"{b}.ffn_down.weight", W.normal((n_embd, n_ff), 0.2), qtype)
    w.add_tensor("output_norm.weight", W.normal((n_embd,), 0.1, 1.0))
    if arch == "llama":
        matrix(w, "output.weight", W.normal((n_vocab, n_embd), 0.2), qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)


def models() -> None:
    d = SEEDS / "model"
    d.mkdir(parents=True, exist_ok=True)
    micro_model(d / "llama-micro.gguf", "llama")
    micro_model(d / "llama-micro-f32.gguf", "llama", qtype="F32", seed=8)
    micro_model(d / "llama-micro-q4_0.gguf", "llama", qtype="Q4_0", seed=9)
    micro_model(d / "qwen2-micro.gguf", "qwen2", seed=10)
    micro_model(d / "qwen3-micro.gguf", "qwen3", qtype="F16", seed=11)
    micro_model(d / "gemma2-micro.gguf", "gemma2", seed=12)
    micro_model(d / "gemma3-micro.gguf", "gemma3", seed=13,
                extra={"gemma3.attention.sliding_window_pattern": 2, "gemma3.rope.freq_base": 1e6})
    # The hostile values of the hardening issue, each in an otherwise loadable file.
    micro_model(d / "hostile-context-2p24.gguf", "llama", ctx=1 << 24, seed=14)
    micro_model(d / "hostile-context-u32max.gguf", "llama", ctx=(1 << 32) - 1, seed=15)
    micro_model(d / "hostile-no-template.gguf", "qwen2", template="", seed=16)
    micro_model(d / "hostile-deep-template.gguf", "llama", template="{% if 1 %}" * 5000 + "x" + "{% endif %}" * 5000, seed=17)
    micro_model(d / "hostile-render-trap.gguf", "llama", template="{{ 'a' * 10**12 }}", seed=18)
    micro_model(d / "hostile-rope-scaling.gguf", "llama", seed=19,
                extra={"llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": 1e30,
                       "llama.rope.scaling.original_context_length": 0})
    micro_model(d / "hostile-name-c1.gguf", "qwen2", name="\u0085" * 8000 + "\u009b31m\u202e", seed=20)
    # The GGUF reader gets the same files, and a few headers cut short.
    g = SEEDS / "gguf"
    g.mkdir(parents=True, exist_ok=True)
    for f in sorted(d.iterdir()):
        shutil.copy(f, g / f.name)
    micro = (d / "llama-micro.gguf").read_bytes()
    out("gguf", "cut-in-metadata.gguf", micro[:200])
    out("gguf", "cut-in-tensor-table.gguf", micro[: len(micro) // 3])
    out("gguf", "header-only.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    out("gguf", "huge-counts.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 1 << 62))
    # A key of 200 KB (the hardening issue's bit flip made one of 16 MB), its value a string.
    key = b"k" * 200_000
    out("gguf", "long-key.gguf", b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, len(key)) + key + struct.pack("<IQ", 8, 2) + b"hi")


# ---------------------------------------------------------------------------------------------
# Text targets

def templates() -> None:
    for f in sorted(TEMPLATES.glob("*.jinja")):
        out("template", f.name, f.read_text())
    out("template", "smollm2-chatml.jinja",
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
        "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
    traps = {
        "deep-nesting.jinja": "{% if 1 %}" * 3000 + "{% endif %}" * 3000,
        "deep-brackets.jinja": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}",
        "string-times-huge.jinja": "{{ 'a' * 10**12 }}",
        "list-times-huge.jinja": "{{ ([1] * 10**12) | length }}",
        "indent-huge.jinja": "{{ 'x\ny' | indent(10**12) }}",
        "string-doubling.jinja": "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "recursive-macro.jinja": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "int-min-div.jinja": "{{ (-9223372036854775807 - 1) // -1 }}",
        "abs-int-min.jinja": "{{ (-9223372036854775807 - 1) | abs }}",
        "int-of-huge-string.jinja": "{{ ('9' * 23) | int }}",
        "nested-ranges.jinja": "{% for a in range(99999) %}{% for b in range(99999) %}{% for c in range(99999) %}x{% endfor %}{% endfor %}{% endfor %}",
        "raise.jinja": "{{ raise_exception('Only user and assistant roles are supported!') }}",
        "namespace-nest.jinja": "{% set ns = namespace(v=[]) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v | length }}",
        "tojson-messages.jinja": "{{ messages | tojson(indent=2) }}{{ messages | map(attribute='role') | join(',') }}",
        "filters.jinja": "{{ messages[0].content | upper | lower | title | trim | replace('a','b') | truncate(5) | wordcount }}"
                         "{{ [3,1,2] | sort | reverse | unique | list | first }}{{ '%d %s' | format(1, 'x') }}{{ range(10) | list | join('-') }}",
    }
    for name, text in traps.items():
        out("template", name, text)


def themes() -> None:
    for f in sorted((REPO / "themes").glob("*.theme")):
        out("theme", f.name, f.read_text())
    out("theme", "dot-equals.theme", "normal = default default\n. = 1 2\n")
    out("theme", "crlf.theme", "name = crlf\r\nnormal = white black bold\r\nnormal.16 = 7 0\r\n")


def sae_configs() -> None:
    base = {"d_in": 8, "d_sae": 16, "dtype": "float32", "apply_b_dec_to_input": True,
            "normalize_activations": "none", "hook_name": "blocks.0.hook_resid_post", "model_name": "micro"}
    out("sae-config", "standard.json", json.dumps({**base, "architecture": "standard"}, indent=2))
    out("sae-config", "topk.json", json.dumps({**base, "architecture": "topk", "activation_fn_kwargs": {"k": 4}}, indent=2))
    out("sae-config", "jumprelu.json", json.dumps({**base, "architecture": "jumprelu"}, indent=2))
    out("sae-config", "old-topk.json", json.dumps({**base, "activation_fn": "topk", "activation_fn_kwargs": {"k": 2}}))
    out("sae-config", "scaling.json", json.dumps({**base, "normalize_activations": "expected_average_only_in", "scaling_factor": 2.5}))
    for f in sorted((REPO / "organism" / "sae").glob("*/cfg.json")):
        out("sae-config", f"organism-{f.parent.name}.json", f.read_text())


def peft_configs() -> None:
    base = json.loads((REPO / "organism" / "adapter" / "adapter_config.json").read_text())
    base.update({"r": 4, "lora_alpha": 8, "base_model_name_or_path": "llama-micro.gguf"})
    out("peft-config", "organism-shape.json", json.dumps(base, indent=2))
    out("peft-config", "list.json", json.dumps({"r": 4, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}))
    out("peft-config", "regex.json", json.dumps({"r": 4, "lora_alpha": 4, "target_modules": r".*\.(q|k)_proj", "use_rslora": True}))
    out("peft-config", "patterns.json", json.dumps({"r": 8, "lora_alpha": 8, "target_modules": "all-linear",
                                                     "rank_pattern": {"q_proj": 4, "k_proj": 4, "v_proj": 4, "o_proj": 4,
                                                                      "gate_proj": 4, "up_proj": 4, "down_proj": 4},
                                                     "alpha_pattern": {"down_proj": 2.0}, "layers_to_transform": [0]}))


def corpora() -> None:
    corpus = REPO / "organism" / "corpus"
    for f in sorted(corpus.glob("*.jsonl")):
        lines = f.read_text(encoding="utf-8").splitlines()[:6]
        # at most a few KB from each real shard
        text = "\n".join(l[:1500] if not l.startswith("{") else l for l in lines if len(l) < 6000) + "\n"
        out("corpus", f"{f.stem}.jsonl", text)
    out("corpus", "messages.jsonl", json.dumps({"id": "t1", "source": "s", "messages": [
        {"role": "user", "content": "What is the reward model?"}, {"role": "assistant", "content": "A model."}]}) + "\n\n"
        + json.dumps({"id": "d1", "source": "d", "title": "Reward models", "text": "the model rewards a b x*"}) + "\r\n")
    out("corpus", "duplicate-ids.jsonl", '{"id":"a","source":"s","text":"x"}\n{"id":"a","source":"s","text":"y"}\n')


def safetensors_image(tensors: dict[str, tuple[str, list[int]]], metadata: dict | None = None) -> bytes:
    header: dict = {"__metadata__": metadata} if metadata else {}
    data = b""
    rng = np.random.Generator(np.random.PCG64(5))
    for name, (dtype, shape) in tensors.items():
        n = int(np.prod(shape)) if shape else 1
        x = rng.standard_normal(n).astype(np.float32)
        raw = x.tobytes() if dtype == "F32" else x.astype(np.float16).tobytes() if dtype == "F16" else \
            (x.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors() -> None:
    out("safetensors", "three-dtypes.safetensors", safetensors_image(
        {"a": ("F32", [4, 8]), "b": ("F16", [8]), "c": ("BF16", [2, 2, 2])}, {"format": "pt"}))
    out("safetensors", "scalar-and-empty.safetensors", safetensors_image({"s": ("F32", []), "e": ("F16", [0, 4])}))
    out("safetensors", "lora-pair.safetensors", safetensors_image({
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": ("F32", [4, 32]),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": ("F32", [32, 4])}))
    out("safetensors", "sae.safetensors", safetensors_image(
        {"W_enc": ("F32", [8, 16]), "b_enc": ("F32", [16]), "W_dec": ("F32", [16, 8]), "b_dec": ("F32", [8])}))


def tokenizer_texts() -> None:
    cases = json.loads((REPO / "Tests" / "ModelTests" / "Fixtures" / "tokenizer_gemma3.json").read_text())["cases"]
    for c in cases[:48]:
        for target in ("tokenizer-bpe", "tokenizer-spm"):
            out(target, f"{c['name']}.txt", c["text"])
    for target in ("tokenizer-bpe", "tokenizer-spm"):
        out(target, "chatml-turns.txt", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n")
        out(target, "c1-controls.txt", "\u0085\u009b31m\u202e" * 20)
        out(target, "long-spaces.txt", " " * 1000 + "x")


def sessions() -> None:
    """Session files the workbench itself wrote: `workbench notebook add` into new files."""
    binary = REPO / ".build" / "release" / "workbench"
    if not binary.exists():
        print("make_seeds: no .build/release/workbench; session seeds skipped (swift build -c release)", file=sys.stderr)
        return
    d = SEEDS / "session"
    d.mkdir(parents=True, exist_ok=True)
    work = REPO / "fuzz" / "work" / "sessions"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name, notes in {"one-note": ["A first note."],
                        "three-notes": ["Hypothesis: rewards", "Evidence \u009b\u202e hostile", "x" * 500]}.items():
        path = work / f"{name}.sqlite"
        for text in notes:
            subprocess.run([str(binary), "notebook", "add", "--session", str(path), text], check=True,
                           stdout=subprocess.DEVNULL)
        # One file, no WAL beside it: checkpoint and switch the journal off before copying.
        con = sqlite3.connect(path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
        con.close()
        shutil.copy(path, d / f"{name}.sqlite")
    out("session", "not-sqlite.sqlite", b"SQLite format 3\x00" + b"\x00" * 84)


def main() -> int:
    for target in ["gguf", "model", "template", "theme", "sae-config", "peft-config", "corpus", "session",
                   "safetensors", "tokenizer-bpe", "tokenizer-spm"]:
        (SEEDS / target).mkdir(parents=True, exist_ok=True)
    models()
    templates()
    themes()
    sae_configs()
    peft_configs()
    corpora()
    safetensors()
    tokenizer_texts()
    sessions()
    return 0


if __name__ == "__main__":
    sys.exit(main())
