#!/usr/bin/env python3
"""llama.cpp's logits at every generated position of a longer chat, on both of its paths.

    bench/.venv/bin/python scripts/long_chat_reference.py [--model models/SmolLM2-135M-Instruct.Q4_1.gguf]

Writes Tests/ModelTests/Fixtures/families/<stem>.long-chat.json (checked by
Tests/ModelTests/LongChatForwardTests.swift). The case: "What is the capital of France?" with the
default system prompt, rendered with the model's chat template, then the first GENERATED tokens
of our greedy continuation (the 8th step is where llama.cpp's AVX2 and AVX-512 builds disagree on
this model: " Mar" 2828 against " Cit" 12693, by 0.02-0.3). For positions FIRST..last it records
the top N_TOP logits and the logits of the probe ids

  batch   the whole sequence in one llama_batch, logits for every position
  decode  the prompt in one llama_batch, then one token per llama_decode (the generation path)

with llama.cpp's system info: its AVX2 and AVX-512 builds round differently (ggml_v_expf,
tinyBLAS and ggml_vec_dot_f16 widths), and the test follows the build named here
(ck_set_reference_isa). Settings as scripts/family_reference.py (2 threads, no repacking,
flash attention off, f16 KV cache).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import family_reference as fr  # noqa: E402

PROMPT_IDS = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407,
              19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198]
GENERATED = [60, 23, 39614, 1141, 552, 28, 2618]  # "L'Étoile, la"
PROBE_IDS = [2828, 12693, 4649]  # " Mar", " Cit", " France"
FIRST = len(PROMPT_IDS) - 1      # the prompt's last position, then every generated one
N_TOP = 20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    args = ap.parse_args()
    path = (REPO / args.model) if not Path(args.model).is_absolute() else Path(args.model)
    fr.SETTINGS["use_extra_bufts"] = False
    m = fr.Model(path)
    L = m.L
    seq = PROMPT_IDS + GENERATED
    if m.tokenize(fr.render_chat(m.meta("tokenizer.chat_template"),
                                 [{"role": "user", "content": "What is the capital of France?"}],
                                 m.token_text(L.llama_vocab_bos(m.vocab)), m.token_text(L.llama_vocab_eos(m.vocab))),
                  False, True) != PROMPT_IDS:
        raise SystemExit("the chat template no longer renders PROMPT_IDS")
    batch = L.llama_batch_init(len(seq), 0, 1)

    def decode(ctx, tokens, pos0, every):
        batch.n_tokens = len(tokens)
        for i, t in enumerate(tokens):
            batch.token[i] = t
            batch.pos[i] = pos0 + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = every or i == len(tokens) - 1
        if L.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        rows = range(len(tokens)) if every else [len(tokens) - 1]
        return [np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, i), shape=(m.n_vocab,)).copy() for i in rows]

    ctx = L.llama_init_from_model(m.model, m.context_params())
    batch_rows = decode(ctx, seq, 0, True)[FIRST:]
    L.llama_free(ctx)
    ctx = L.llama_init_from_model(m.model, m.context_params())
    decode_rows = decode(ctx, PROMPT_IDS, 0, False)
    for j, t in enumerate(GENERATED):
        decode_rows += decode(ctx, [t], len(PROMPT_IDS) + j, False)
    L.llama_free(ctx)
    L.llama_batch_free(batch)

    def record(rows):
        out = []
        for k, x in enumerate(rows):
            top = sorted(np.argpartition(-x, N_TOP)[:N_TOP].tolist(), key=lambda i: (-x[i], i))
            out.append({"position": FIRST + k, "top": [[int(i), fr.f32(x[i])] for i in top],
                        "probe_logits": [fr.f32(x[i]) for i in PROBE_IDS]})
        return out

    import llama_cpp
    system_info = L.llama_print_system_info().decode().strip()
    doc = {
        "made_by": "scripts/long_chat_reference.py",
        "file": {"path": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else args.model,
                 "sha256": fr.sha256_file(path)},
        "llama_cpp": {"llama_cpp_python": llama_cpp.__version__, "system_info": system_info,
                      "isa": "avx512" if "AVX512 = 1" in system_info else "avx2",
                      "settings": {k: fr.SETTINGS[k] for k in ("n_threads", "n_threads_batch", "n_ctx", "n_batch",
                                                               "n_ubatch", "flash_attn_type", "use_extra_bufts")}},
        "prompt_ids": PROMPT_IDS,
        "generated": GENERATED,
        "probe_ids": PROBE_IDS,
        "batch": record(batch_rows),
        "decode": record(decode_rows),
    }
    m.close()
    out = fr.REF_DIR / f"{path.stem}.long-chat.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    last = {"batch": doc["batch"][-1]["probe_logits"], "decode": doc["decode"][-1]["probe_logits"]}
    print(f"wrote {out.relative_to(REPO)} ({doc['llama_cpp']['isa']}); last position {PROBE_IDS}: {last}")


if __name__ == "__main__":
    main()
