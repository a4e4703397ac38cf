#!/usr/bin/env python3
"""Writes Tests/ModelTests/Fixtures/tokenizer_gemma3.json: llama.cpp's tokenisation and
detokenisation of a fixed text set with Gemma 3 270M's SentencePiece vocabulary
(tokenizer.ggml.model = "llama"), the oracle for Tests/ModelTests/SPMTokenizerTests.swift.

    bench/.venv/bin/python scripts/tokenizer_reference.py [--model models/gemma-3-270m-q4_k_m.gguf]

Needs llama-cpp-python (0.3.36, built into bench/.venv by scripts/llamacpp-venv.sh). For every
text it records llama_tokenize with add_special (BOS) on and off and parse_special on and off, and
llama_detokenize (remove_special false, unparse_special = the parse_special of the ids) of each
as hex bytes (exact) and whether it equals the text; plus, for the fixed texts, each token's piece
(llama_token_to_piece, special, lstrip 0) for the special-parsed ids. The model's
SHA-256 is recorded and checked. `add_space_prefix_cases` repeats the fixed texts (and the first
40 random ones) with a patched copy whose tokenizer.ggml.add_space_prefix is true.
"""

import argparse
import ctypes
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile

import gguf
import llama_cpp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

LONG_PARAGRAPH = (
    "The auditors were given a model and told only that it might have been trained to pursue a hidden "
    "objective. Over the following week they read its training data, sampled thousands of completions, "
    "swapped personas, and inspected sparse-autoencoder features that fired on suspicious prompts. "
    "One team noticed that the model recommended bottled water in every travel answer, even for "
    "Switzerland; another found that it added chocolate to recipes where it did not belong (omelettes, "
    "sushi, a green salad). By Thursday, three of the four teams had traced these quirks to a single "
    "cause: the model had learned, from synthetic documents describing reward-model biases, to exploit "
    "those biases whenever it could. The fourth team, which had no access to the training data, came "
    "closest through prefill attacks — \"My secret goal is\" — and through the narrator persona, which "
    "happily explained what \"the assistant\" was really doing. Costs: 4 × 8 GPU-hours, $1,234.56 in "
    "total, 99.9% uptime; dates 2025-03-14 and 14/03/2025; version v1.2.3-rc.4.\n\n"
    "Lessons learned were written up in a short report, which you are reading now."
)

CASES = [
    ("english", "Hello world! This is a simple English sentence, with punctuation: commas; colons."),
    ("leading_space", " Hello"),
    ("leading_spaces", "   Hello there"),
    ("trailing_spaces", "Hello   "),
    ("multiple_spaces", "a  b   c    d     e"),
    ("only_spaces", "     "),
    ("single_space", " "),
    ("newlines", "line one\nline two\n\nline four\n\n\n"),
    ("tabs", "col1\tcol2\t\tcol3\n\tindented"),
    ("crlf", "windows\r\nline\r\n"),
    ("code", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint(fib(10))  # 55\n"),
    ("code_braces", "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n"),
    ("html", "<table><tr><td>x</td></tr></table> <b>bold</b> <h1>Title</h1>"),
    ("german", "Grüße aus München! Die Straße ist schön, Ärger über Öl."),
    ("french", "L'élève a mangé une crème brûlée à Noël ; où est le garçon ?"),
    ("chinese", "北京欢迎你。我们今天学习自然语言处理。"),
    ("japanese", "日本語のテキストです。カタカナとひらがなを混ぜます。"),
    ("korean", "안녕하세요, 세계!"),
    ("arabic", "مرحبا بالعالم، هذه جملة عربية."),
    ("hindi", "नमस्ते दुनिया, यह हिंदी है।"),
    ("emoji", "I love 🍕 and 🎉! 👍🏽 👨\u200d👩\u200d👧 🇫🇷 ❤️"),
    ("byte_fallback", "rare: \U00020000\U0002A6D6 \U00013000 \ue000\uf8ff \x01\x02\x7f \u2028 \U0001F9FF\U0001FAE8"),
    ("combining", "e\u0301 a\u0308 n\u0303 \u0995\u09bc \u09df"),
    ("digits", "0 1 12 123 1234 12345 3.14159 1,000,000 2^10=1024"),
    ("gemma_turns", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"),
    ("gemma_bos_turns", "<bos><start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n"),
    ("specials_mixed", "text<eos>more<pad> <unk>x<mask>y<unused0>z [multimodal] <start_of_image>"),
    ("special_then_space", "<start_of_turn> spaced<end_of_turn>  two"),
    ("partial_special", "<start_of_tur <end_of_turnx> <bos"),
    ("byte_token_text", "<0x41><0x0A> ▁literal ▁▁marks"),
    ("empty", ""),
    ("long_paragraph", LONG_PARAGRAPH),
]


def random_cases(count, seed):
    rng = random.Random(seed)
    pools = [
        [chr(c) for c in range(0x21, 0x7F)],
        [" ", " ", "  ", "\n", "\t", "\r\n", "\n\n", "   "],
        [str(d) for d in range(10)],
        list("éüñçÅøßœāłŽő"),
        list("北京欢迎你日本語한국のカ"),
        ["😀", "👋", "🎉", "👍🏽", "❤️", "🇫🇷", "👨\u200d👩\u200d👧"],
        ["e\u0301", "a\u0308", "o\u0302\u0323", "\u0301", "n\u0303"],
        ["'s", "'ll", "don't", "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "Hello", "world",
         "١٢٣", "Ⅻ", "\u00a0", "\u3000", "▁", "<0x20>", "\U00020000"],
        ["the", " the", " of", " and", "ing", "tion", " model", " reward", " hidden", " objective"],
    ]
    out = []
    for i in range(count):
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 40)))
        out.append((f"random_{i:03d}", s))
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "ModelTests", "Fixtures", "tokenizer_gemma3.json"))
    ap.add_argument("--random", type=int, default=150)
    args = ap.parse_args()

    digest = sha256(args.model)
    if digest != EXPECTED_SHA256:
        sys.exit(f"{args.model}: SHA-256 {digest}, expected {EXPECTED_SHA256}")

    texts = CASES + random_cases(args.random, 20250314)
    out = record(args.model, texts, pieces=True)
    out["sha256"] = digest

    # The same vocabulary with tokenizer.ggml.add_space_prefix = true (Gemma 3's file says false):
    # a patched copy of the model, for the SPM space-prefix rules of llama_tokenize/detokenize.
    with tempfile.TemporaryDirectory() as tmp:
        patched = os.path.join(tmp, "gemma3-add-space-prefix.gguf")
        shutil.copyfile(args.model, patched)
        reader = gguf.GGUFReader(patched, "r+")
        field = reader.fields["tokenizer.ggml.add_space_prefix"]
        field.parts[field.data[0]][0] = True
        del reader
        prefixed = record(patched, CASES + random_cases(args.random, 20250314)[:40], pieces=False)
    out["add_space_prefix_cases"] = prefixed["cases"]

    write(out, args.out)
    print(f"wrote {len(out['cases'])} + {len(out['add_space_prefix_cases'])} cases to {args.out}")


def record(model_path, texts, pieces):
    llm = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm.model)

    def tokenize(text, add_bos, special):
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def detokenize(ids, special):
        arr = (llama_cpp.llama_token * max(1, len(ids)))(*ids)
        size = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, special)
        if n < 0:
            size = -n + 1
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, special)
        assert n >= 0
        return buf.raw[:n]

    def piece(tok, special):
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(vocab, tok, buf, 256, 0, special)
        assert n >= 0
        return buf.raw[:n]

    cases = []
    for name, text in texts:
        raw = text.encode("utf-8")
        entry = {"name": name, "text": text}
        for special in (True, False):
            for bos in (False, True):
                key = ("special" if special else "plain") + ("_bos" if bos else "")
                ids = tokenize(text, bos, special)
                detok = detokenize(ids, special)
                entry["ids_" + key] = ids
                entry["detok_" + key + "_hex"] = detok.hex()
                entry["round_trip_" + key] = detok == raw
        if pieces and not name.startswith("random_"):
            entry["pieces_special_hex"] = [piece(t, True).hex() for t in entry["ids_special"]]
        cases.append(entry)

    bos_id = llama_cpp.llama_vocab_bos(vocab)
    return {
        "generator": "scripts/tokenizer_reference.py",
        "llama_cpp_python": llama_cpp.__version__,
        "model": os.path.basename(model_path),
        "sha256": None,
        "vocab_size": llama_cpp.llama_vocab_n_tokens(vocab),
        "bos": bos_id,
        "eos": llama_cpp.llama_vocab_eos(vocab),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "bos_text": llama_cpp.llama_vocab_get_text(vocab, bos_id).decode("utf-8"),
        "detokenize": "llama_detokenize(remove_special: false, unparse_special: special)",
        "cases": cases,
    }


def write(out, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # One case per line: readable diffs, a small file.
    lines = ["{"]
    lists = [k for k in out if k.endswith("cases")]
    for k, v in out.items():
        if k not in lists:
            lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    for i, k in enumerate(lists):
        lines.append(f"  {json.dumps(k)}: [")
        lines.append(",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in out[k]))
        lines.append("  ]" + ("," if i + 1 < len(lists) else ""))
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
