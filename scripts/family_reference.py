#!/usr/bin/env python3
"""llama.cpp's reference outputs for the test models (run by scripts/make-test-models.sh).

With bench/.venv's python (llama-cpp-python 0.3.36, gguf==0.19.0, jinja2):

    bench/.venv/bin/python scripts/family_reference.py [--force] [--stats] [MODEL.gguf ...]

Default models: every file scripts/make_family_fixtures.py makes (models/quant/*.gguf,
models/fixtures/*.gguf). For each MODEL it writes Tests/ModelTests/Fixtures/families/<stem>.json:

  file        SHA-256, size, the tensor types it really contains (read with the gguf package)
  llama_cpp   llama-cpp-python version, the system info of its build, every setting used
  vocab       n_vocab, BOS/EOS/EOT, add_bos/add_eos as llama.cpp reads them, end-of-generation ids
  tokenize    for a text set (English, code, German/Chinese/emoji, the family's special tokens):
              ids with specials parsed and BOS/EOS as the metadata says (add_special=true), the
              ids with specials not parsed and nothing added, and the detokenised text
  generate    for 6 prompts (3 raw texts, 3 chats rendered with the model's own
              tokenizer.chat_template as the exact prompt string): the input ids, the top 10
              next-token ids with logits at the first step, the first step's logits of the
              probe ids, and the greedy continuation (32 tokens, stopping at an
              end-of-generation token) with its text and each step's top-1/top-2 margin

Only the low-level API is used (llama_tokenize, llama_decode of a llama_batch, argmax over
llama_get_logits_ith), so nothing adds or removes tokens behind our back. A JSON whose recorded
SHA-256 and settings match the model file is left alone (--force remakes it).
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
REF_DIR = REPO / "Tests" / "ModelTests" / "Fixtures" / "families"
FORMAT_VERSION = 1

SETTINGS = {
    "n_threads": 2,
    "n_threads_batch": 2,
    "n_ctx": 1024,
    "n_batch": 512,
    "n_ubatch": 512,
    "n_seq_max": 1,
    "flash_attn_type": 0,      # LLAMA_FLASH_ATTN_TYPE_DISABLED
    "n_gpu_layers": 0,
    "use_extra_bufts": False,  # no weight repacking (CPU_REPACK buffer type)
    "use_mmap": None,          # filled in from the defaults
    "greedy_tokens": 32,
    "sampling": "greedy: argmax over llama_get_logits_ith(ctx, -1), lowest id on ties",
    "prompt_decode": "one llama_batch with every prompt token, logits for the last only; then one token per llama_decode",
    "fresh_context_per_prompt": True,
}
N_TOP = 10
N_PROBE = 20


def f32(x) -> float:
    """A float32 as the shortest decimal that reads back to the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-")) if np.isfinite(x) else float(x)


def sha256_file(path: Path) -> str:
    import make_family_fixtures as mff

    return mff.sha256_file(path)


def tensor_types(path: Path) -> tuple[dict[str, str], dict[str, int], dict]:
    from gguf import GGMLQuantizationType
    from make_family_fixtures import read_gguf_header

    meta, infos = read_gguf_header(path)
    tensors = {name: GGMLQuantizationType(t).name for name, _, t in infos}
    counts: dict[str, int] = {}
    for t in tensors.values():
        counts[t] = counts.get(t, 0) + 1
    keep = ("general.architecture", "general.file_type", "tokenizer.ggml.model", "tokenizer.ggml.pre")
    return tensors, dict(sorted(counts.items())), {k: meta[k] for k in keep if k in meta}


# ---------------------------------------------------------------------------------------------
# Texts and prompts

COMMON_TEXTS = [
    "Hello world",
    " Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  two  spaces,\ttab and\nnewline\n\n",
    "isn't it? We'll see; they've gone, I'm sure.",
    "3.14159 + 2718 = 123456789",
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    "Grüß Gott! Die Straße ist schön.",
    "北京欢迎你，世界你好。",
    "emoji: 😀👋🌍🚀 and ❤️",
    "café naïve résumé — “quotes” …",
]

FAMILY_TEXTS = {
    "chatml": [
        "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>system\nBe brief.<|im_end|>\n<|endoftext|>",
    ],
    "qwen3": [
        "<think>\nLet me think.\n</think>\n\nSure.",
        "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
    ],
    "llama3": [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n<|python_tag|>x<|eom_id|>",
    ],
    "gemma": [
        "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
        "<bos><eos><pad> and <unused0>",
    ],
}

RAW_PROMPTS = [
    "The quick brown fox",
    "def fibonacci(n):\n",
    "Der Himmel über Berlin ist blau, 天空是蓝色的 🌍",
]


def chat_prompts(style: str) -> list[list[dict]]:
    first = [{"role": "user", "content": "What is the capital of France?"}]
    if style == "gemma":  # Gemma's template rejects a system message
        second = [{"role": "user", "content": "Write a haiku about the sea."}]
    else:
        second = [{"role": "system", "content": "You are a pirate. Answer in one sentence."},
                  {"role": "user", "content": "Tell me a joke."}]
    third = [{"role": "user", "content": "Hi!"},
             {"role": "assistant", "content": "Hello! How can I help you today?"},
             {"role": "user", "content": "Count to five."}]
    return [first, second, third]


def style_of(arch: str, tokens_by_text: dict[str, int]) -> str:
    if arch.startswith("gemma"):
        return "gemma"
    if "<|start_header_id|>" in tokens_by_text:
        return "llama3"
    if arch == "qwen3":
        return "qwen3"
    return "chatml"


def render_chat(template: str, messages: list[dict], bos: str, eos: str) -> str:
    """The chat as transformers' apply_chat_template renders it (jinja2 sandbox, trim_blocks,
    lstrip_blocks), with the generation prompt."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda x, indent=None, **_: json.dumps(x, ensure_ascii=False, indent=indent)
    return env.from_string(template).render(messages=messages, bos_token=bos, eos_token=eos,
                                            add_generation_prompt=True)


# ---------------------------------------------------------------------------------------------
# llama.cpp, low-level API

class Model:
    def __init__(self, path: Path):
        import llama_cpp as L

        self.L = L
        mp = L.llama_model_default_params()
        mp.n_gpu_layers = SETTINGS["n_gpu_layers"]
        fields = [f[0] for f in mp._fields_]
        self.has_extra_bufts = "use_extra_bufts" in fields
        if self.has_extra_bufts:
            mp.use_extra_bufts = SETTINGS["use_extra_bufts"]
        self.model_params = {f: getattr(mp, f) for f in fields if isinstance(getattr(mp, f), (bool, int, float))}
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)

    def close(self):
        self.L.llama_model_free(self.model)

    def context_params(self):
        L = self.L
        cp = L.llama_context_default_params()
        cp.n_ctx = SETTINGS["n_ctx"]
        cp.n_batch = SETTINGS["n_batch"]
        cp.n_ubatch = SETTINGS["n_ubatch"]
        cp.n_seq_max = SETTINGS["n_seq_max"]
        cp.n_threads = SETTINGS["n_threads"]
        cp.n_threads_batch = SETTINGS["n_threads_batch"]
        cp.flash_attn_type = SETTINGS["flash_attn_type"]
        return cp

    def context_settings(self) -> dict:
        cp = self.context_params()
        return {f[0]: getattr(cp, f[0]) for f in cp._fields_ if isinstance(getattr(cp, f[0]), (bool, int, float))}

    # vocabulary ---------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = self.L.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8") if n >= 0 else None

    def piece(self, tok: int, special: bool = True) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = self.L.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.L.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, special)
        return buf.raw[:n]

    def token_text(self, tok: int) -> str:
        return self.L.llama_vocab_get_text(self.vocab, tok).decode("utf-8")

    def tokenize(self, text: str, add_special: bool, parse_special: bool) -> list[int]:
        data = text.encode("utf-8")
        n_max = len(data) + 16
        arr = (self.L.llama_token * n_max)()
        n = self.L.llama_tokenize(self.vocab, data, len(data), arr, n_max, add_special, parse_special)
        if n < 0:
            n_max = -n
            arr = (self.L.llama_token * n_max)()
            n = self.L.llama_tokenize(self.vocab, data, len(data), arr, n_max, add_special, parse_special)
        return list(arr[:n])

    def detokenize(self, ids: list[int], remove_special: bool = False, unparse_special: bool = True) -> str:
        arr = (self.L.llama_token * max(1, len(ids)))(*ids)
        cap = 64 + 32 * len(ids)
        buf = ctypes.create_string_buffer(cap)
        n = self.L.llama_detokenize(self.vocab, arr, len(ids), buf, cap, remove_special, unparse_special)
        if n < 0:
            cap = -n
            buf = ctypes.create_string_buffer(cap)
            n = self.L.llama_detokenize(self.vocab, arr, len(ids), buf, cap, remove_special, unparse_special)
        return buf.raw[:n].decode("utf-8", "replace")

    def builtin_chat(self, template: str, messages: list[dict]) -> str | None:
        """llama_chat_apply_template: llama.cpp's own (non-Jinja) rendering, chosen by its
        heuristics from the template text; None when it does not recognise the template."""
        L = self.L
        msgs = (L.llama_chat_message * len(messages))(
            *[L.llama_chat_message(m["role"].encode(), m["content"].encode()) for m in messages])
        cap = 4096
        buf = ctypes.create_string_buffer(cap)
        n = L.llama_chat_apply_template(template.encode(), msgs, len(messages), True, buf, cap)
        if n < 0:
            return None
        if n > cap:
            buf = ctypes.create_string_buffer(n)
            n = L.llama_chat_apply_template(template.encode(), msgs, len(messages), True, buf, n)
        return buf.raw[:n].decode("utf-8")

    def vocab_info(self) -> dict:
        L, v = self.L, self.vocab

        def tok(i):
            return None if i < 0 else i

        eog = [i for i in range(self.n_vocab) if L.llama_vocab_is_eog(v, i)]
        control = [i for i in range(self.n_vocab) if L.llama_vocab_is_control(v, i)]
        self.control_ids = control
        return {
            "n_vocab": self.n_vocab,
            "type": {1: "SPM", 2: "BPE", 3: "WPM", 4: "UGM", 5: "RWKV", 6: "PLAMO2"}.get(L.llama_vocab_type(v), L.llama_vocab_type(v)),
            "bos": tok(L.llama_vocab_bos(v)),
            "eos": tok(L.llama_vocab_eos(v)),
            "eot": tok(L.llama_vocab_eot(v)),
            "pad": tok(L.llama_vocab_pad(v)),
            "add_bos": bool(L.llama_vocab_get_add_bos(v)),
            "add_eos": bool(L.llama_vocab_get_add_eos(v)),
            "eog_ids": eog,
            "control_ids": control if len(control) <= 300 else {"count": len(control), "first": control[:300]},
        }

    # decoding -----------------------------------------------------------------------------
    def run(self, ids: list[int], n_gen: int, probe_ids: list[int]) -> dict:
        L = self.L
        ctx = L.llama_init_from_model(self.model, self.context_params())
        if not ctx:
            raise RuntimeError("llama_init_from_model failed")
        batch = L.llama_batch_init(max(len(ids), 1), 0, 1)
        try:
            def decode(tokens: list[int], pos0: int) -> np.ndarray:
                batch.n_tokens = len(tokens)
                for i, t in enumerate(tokens):
                    batch.token[i] = t
                    batch.pos[i] = pos0 + i
                    batch.n_seq_id[i] = 1
                    batch.seq_id[i][0] = 0
                    batch.logits[i] = i == len(tokens) - 1
                rc = L.llama_decode(ctx, batch)
                if rc != 0:
                    raise RuntimeError(f"llama_decode returned {rc}")
                ptr = L.llama_get_logits_ith(ctx, -1)
                return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()

            logits = decode(ids, 0)
            first = logits
            out, margins, stop = [], [], "length"
            pos = len(ids)
            for _ in range(n_gen):
                nxt = int(np.argmax(logits))  # the lowest id among equal maxima
                second = np.partition(logits, -2)[-2]
                margins.append(f32(logits[nxt] - second))
                out.append(nxt)
                if L.llama_vocab_is_eog(self.vocab, nxt):
                    stop = "eog"
                    break
                if len(out) == n_gen:
                    break
                logits = decode([nxt], pos)
                pos += 1
            top = np.argpartition(-first, N_TOP)[:N_TOP]
            order = sorted(top.tolist(), key=lambda i: (-first[i], i))
            return {
                "first_step": {
                    "top": [[int(i), f32(first[i])] for i in order],
                    "probe_logits": [f32(first[i]) for i in probe_ids],
                    "logit_stats": {"max": f32(first.max()), "mean": f32(first.mean()), "std": f32(first.std())},
                },
                "greedy": {"ids": out, "stop": stop, "top1_margins": margins},
            }
        finally:
            L.llama_batch_free(batch)
            L.llama_free(ctx)


# ---------------------------------------------------------------------------------------------

def compact_json(obj, indent: int = 0) -> str:
    """JSON with one key per line and short lists of scalars on one line."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k, ensure_ascii=False)}: {compact_json(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(x, (dict, list)) for x in obj) or \
           all(isinstance(x, list) and all(not isinstance(y, (dict, list)) for y in x) and len(x) <= 3 for x in obj):
            return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
        items = [f"{pad} {compact_json(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False)


def probe_ids_for(n_vocab: int, vocab: dict) -> list[int]:
    ids = [int(round(x)) for x in np.linspace(0, n_vocab - 1, N_PROBE)]
    return ids


def reference(path: Path) -> dict:
    import llama_cpp

    t0 = time.monotonic()
    tensors, counts, meta = tensor_types(path)
    m = Model(path)
    try:
        arch = meta.get("general.architecture", "")
        template = m.meta("tokenizer.chat_template")
        template_source = "tokenizer.chat_template"
        vocab = m.vocab_info()
        specials = set(vocab["eog_ids"]) | set(m.control_ids)
        text_ids = {m.token_text(i): i for i in sorted(specials)}
        style = style_of(arch, text_ids)
        if template is None and style == "gemma":
            # models/gemma-3-270m-q4_k_m.gguf has no chat template; Gemma 3's renders chats
            # without a system message exactly as Gemma 2's does
            template = (REF_DIR / "templates" / "google-gemma-2-2b-it.jinja").read_text(encoding="utf-8")
            template_source = "Tests/ModelTests/Fixtures/families/templates/google-gemma-2-2b-it.jinja (the file has no tokenizer.chat_template)"

        texts = COMMON_TEXTS + FAMILY_TEXTS["chatml" if style == "qwen3" else style] + (FAMILY_TEXTS["qwen3"] if style == "qwen3" else [])
        tokenize = []
        for text in texts:
            ids = m.tokenize(text, True, True)
            entry = {"text": text, "ids": ids,
                     "ids_plain": m.tokenize(text, False, False),
                     "detokenized": m.detokenize(ids, remove_special=False, unparse_special=True)}
            tokenize.append(entry)

        probe = probe_ids_for(m.n_vocab, vocab)
        bos = m.token_text(vocab["bos"]) if vocab["bos"] is not None else ""
        eos = m.token_text(vocab["eos"]) if vocab["eos"] is not None else ""
        prompts = [{"kind": "raw", "prompt": p, "add_special": True} for p in RAW_PROMPTS]
        for msgs in chat_prompts(style):
            rendered = render_chat(template, msgs, bos, eos) if template else None
            builtin = m.builtin_chat(template, msgs) if template else None
            prompts.append({"kind": "chat", "messages": msgs, "prompt": rendered,
                            "prompt_source": template_source + " rendered with jinja2 as transformers does "
                                             "(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, add_generation_prompt)",
                            "llama_chat_apply_template": builtin,
                            "llama_chat_apply_template_matches": builtin == rendered,
                            "add_special": False})
        generate = []
        for p in prompts:
            if p["prompt"] is None:
                continue
            ids = m.tokenize(p["prompt"], p["add_special"], True)
            res = m.run(ids, SETTINGS["greedy_tokens"], probe)
            res["greedy"]["text"] = m.detokenize(res["greedy"]["ids"], remove_special=False, unparse_special=True)
            generate.append({**p, "parse_special": True, "input_ids": ids, **res})

        ctx_settings = m.context_settings()
        settings = dict(SETTINGS)
        settings["use_mmap"] = bool(m.model_params.get("use_mmap", True)) if "use_mmap" in m.model_params else None
        settings["use_extra_bufts_available"] = m.has_extra_bufts
        settings["type_k"] = {0: "F32", 1: "F16"}.get(ctx_settings.get("type_k"), ctx_settings.get("type_k"))
        settings["type_v"] = {0: "F32", 1: "F16"}.get(ctx_settings.get("type_v"), ctx_settings.get("type_v"))
        settings["swa_full"] = ctx_settings.get("swa_full")
        settings["kv_unified"] = ctx_settings.get("kv_unified")
        settings["offload_kqv"] = ctx_settings.get("offload_kqv")
        settings["context_params"] = ctx_settings
        settings["model_params"] = m.model_params
    finally:
        m.close()

    return {
        "format": FORMAT_VERSION,
        "made_by": "scripts/family_reference.py",
        "file": {
            "path": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
            "sha256": sha256_file(path),
            "size": path.stat().st_size,
            "architecture": arch,
            "file_type": meta.get("general.file_type"),
            "tokenizer": [meta.get("tokenizer.ggml.model"), meta.get("tokenizer.ggml.pre")],
            **source_record(path),
            "tensor_type_counts": counts,
            "tensor_types": tensors,
        },
        "llama_cpp": {
            "llama_cpp_python": llama_cpp.__version__,
            "system_info": llama_cpp.llama_print_system_info().decode().strip(),
            "settings": settings,
        },
        "chat_style": style,
        "vocab": vocab,
        "tokenize": tokenize,
        "probe_ids": probe,
        "generate": generate,
        "_seconds": round(time.monotonic() - t0, 1),
    }


def source_record(path: Path) -> dict:
    """For a file make_family_fixtures.py quantises: its source and ftype."""
    import make_family_fixtures as mff

    src = mff.source_of(path)
    if src is None:
        return {}
    rel = str(src[0].relative_to(REPO)) if src[0].is_relative_to(REPO) else str(src[0])
    return {"source": {"path": rel, "sha256": mff.sha256_file(src[0]), "llama_ftype": src[1],
                       "made_by": "llama_model_quantize(llama_model_quantize_default_params(), "
                                  "allow_requantize=True, nthread=2)"}}


def up_to_date(path: Path, out: Path) -> bool:
    try:
        old = json.loads(out.read_text())
    except (OSError, ValueError):
        return False
    import llama_cpp

    s = old.get("llama_cpp", {}).get("settings", {})
    return (old.get("format") == FORMAT_VERSION
            and old.get("llama_cpp", {}).get("llama_cpp_python") == llama_cpp.__version__
            and all(s.get(k) == v for k, v in SETTINGS.items() if k != "use_mmap")
            and old.get("file", {}).get("size") == path.stat().st_size
            and old.get("file", {}).get("sha256") == sha256_file(path)
            and old.get("file", {}).get("source") == source_record(path).get("source"))


# The real files scripts/fetch-model.sh fetches, referenced too.
REAL_MODELS = [REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf", REPO / "models" / "gemma-3-270m-q4_k_m.gguf"]


def default_models() -> list[Path]:
    import make_family_fixtures as mff

    return REAL_MODELS + [p for p, _, _ in mff.planned()]


def quiet():
    import llama_cpp

    @llama_cpp.llama_log_callback
    def cb(level, text, _user):  # noqa: ANN001
        if level == 4:
            sys.stderr.write(text.decode("utf-8", "replace"))

    quiet.cb = cb
    llama_cpp.llama_log_set(cb, ctypes.c_void_p(0))


def summary(ref: dict) -> str:
    parts = []
    for g in ref["generate"]:
        ids = g["greedy"]["ids"]
        m = g["greedy"]["top1_margins"]
        parts.append(f"{len(set(ids))}/{len(ids)} distinct, margin min {min(m):.3f} med {float(np.median(m)):.3f}")
    return "; ".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--force", action="store_true", help="remake references that are up to date")
    ap.add_argument("--stats", action="store_true", help="print greedy-diversity and margin stats per prompt")
    args = ap.parse_args()

    import llama_cpp

    quiet()
    llama_cpp.llama_backend_init()
    models = [p.resolve() for p in args.models] or default_models()
    REF_DIR.mkdir(parents=True, exist_ok=True)
    t_all = time.monotonic()
    for path in models:
        if not path.exists():
            print(f"family_reference: {path} is missing (run scripts/make-test-models.sh)", file=sys.stderr)
            return 1
        out = REF_DIR / (path.name[: -len(".gguf")] + ".json")
        rel = out.relative_to(REPO)
        if not args.force and up_to_date(path, out):
            print(f"[ok]   {rel} (up to date)", flush=True)
            continue
        try:
            old_sha = json.loads(out.read_text())["file"]["sha256"]
        except (OSError, ValueError, KeyError):
            old_sha = None
        ref = reference(path)
        secs = ref.pop("_seconds")
        if old_sha is not None and old_sha != ref["file"]["sha256"]:
            print(f"[warn] {rel}: the model file changed (SHA-256 {old_sha[:12]}… -> {ref['file']['sha256'][:12]}…); "
                  f"reference remade", flush=True)
        text = compact_json(ref) + "\n"
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        line = f"[made] {rel} ({len(text) / 1e3:.0f} KB, {secs:.1f} s)"
        if args.stats:
            line += "\n       " + summary(ref)
        print(line, flush=True)
    print(f"family_reference: {time.monotonic() - t_all:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
