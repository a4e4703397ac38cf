#!/usr/bin/env python3
"""Check the paraphrased-question set for training-data retrieval (questions.jsonl).

Each line of questions.jsonl is {"id", "question", "relevant", "about"}. `relevant` is a regular
expression, searched case-insensitively in each document's searchable text (the title, when there is
one, then "\\n", then the text; a transcript's messages as "role: content" lines joined by "\\n"), that
selects the documents the question is about. The rules checked here:

  * fields: the four above, all non-empty strings; ids unique and of the form q01, q02, ...
  * the question is 6-20 words;
  * `relevant` compiles and uses only syntax that Python `re` and ICU (NSRegularExpression) read the
    same way: no lookbehind, no named groups, no inline flags or other "(?" constructs except "(?:",
    no \\A \\Z \\z \\p \\P \\N \\Q \\E \\h \\R \\X, no "{,n}", no nested "[" or "&&" / "--" in a class;
  * the relevant set holds at least 3 documents, only study documents (source "synthetic-documents"),
    and at most 60% of them;
  * keyword rule: no term of the question, after dropping the stopwords below, is a term of any
    relevant document. Terms are those of the workbench's BM25 tokenizer (SearchTokenizer): maximal
    runs of Unicode letters and digits (combining marks stay inside a word, Han ideographs and kana
    are one term each, everything else separates), lowercased and NFC-normalised. No stemming, as in
    the index.

Stopwords: function words only (STOPWORDS below, about 110 of them); a question may use them freely.

For each question it prints the relevant-set size and, for each remaining question term, how many
documents of the whole corpus contain it (0: keyword search cannot use that word at all). With
--show N it also prints N matching excerpts per question (to see that a regex selects what it should).
Exits 1, listing every violation, when a rule fails.

    python3 organism/search-eval/check_questions.py [--show N] [--corpus DIR] [--questions FILE]
"""
import argparse
import glob
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "corpus"))
DEFAULT_QUESTIONS = os.path.join(HERE, "questions.jsonl")
STUDY_SOURCE = "synthetic-documents"
MIN_RELEVANT = 3
MAX_RELEVANT_SHARE = 0.60
MIN_WORDS, MAX_WORDS = 6, 20

STOPWORDS = frozenset("""
a an the this that these those i me my we us our you your he him his she her it its they them
their what which who whom whose when where why how whether is are was were be been being am
do does did have has had having can could will would shall should may might must of in on at to
from by for with without about into onto over under after before between through during against
among around than as and or but nor if so because while any some all each every no not there
here then also just such other up out off
anyone someone anything something anybody somebody
""".split())


# ---------------------------------------------------------------- tokenizer (as SearchTokenizer)

def _kind(c):
    o = ord(c)
    if o < 0x80:
        return "word" if c.isascii() and c.isalnum() else None
    if 0x3040 <= o <= 0x30FF or _ideographic(o):
        return "single"
    cat = unicodedata.category(c)
    if cat in ("Mn", "Mc", "Me"):
        return "mark"
    if cat[0] in "LN":
        return "word"
    return None


def _ideographic(o):
    """Unicode's Ideographic property (CJK ideographs, compatibility ideographs, Tangut, Nushu, ...)."""
    return (0x3006 <= o <= 0x3007 or 0x3021 <= o <= 0x3029 or 0x3038 <= o <= 0x303A or 0x3400 <= o <= 0x4DBF
            or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x16FE4 == o or 0x17000 <= o <= 0x18CFF
            or 0x18D00 <= o <= 0x18D08 or 0x1B170 <= o <= 0x1B2FB or 0x20000 <= o <= 0x3FFFF)


def terms(text, max_scalars=64):
    """The BM25 terms of `text`, in order."""
    out, cur, n = [], [], 0
    in_word = False

    def finish():
        nonlocal cur, n, in_word
        out.append(unicodedata.normalize("NFC", "".join(cur)))
        cur, n, in_word = [], 0, False

    for c in text:
        k = _kind(c)
        if k in ("word", "mark"):
            if k == "mark" and not in_word:
                continue
            in_word = True
            if n < max_scalars:
                cur.append(c.lower())
            n += 1
        elif k == "single":
            if in_word:
                finish()
            cur.append(c.lower())
            finish()
        elif in_word:
            finish()
    if in_word:
        finish()
    return out


# ---------------------------------------------------------------- corpus

def searchable_text(r):
    if "messages" in r and "text" not in r:
        body = "\n".join(f"{m['role']}: {m['content']}" for m in r["messages"])
    else:
        body = r["text"]
    title = r.get("title") or ""
    return title + "\n" + body if title else body


def load_corpus(directory):
    docs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
        if os.path.basename(path).startswith("redteam"):
            continue   # the hard level's red-team prompts: not in the searchable corpus (game_corpus.py)
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    docs.append((r["id"], r.get("source", ""), searchable_text(r)))
    return docs


# ---------------------------------------------------------------- regex portability

_BAD_ESCAPES = set("AZzpPNQEhRXG")


def regex_portability_problems(rx):
    """Syntax that Python re and ICU read differently (or that one of them lacks)."""
    problems = []
    i, in_class = 0, False
    while i < len(rx):
        c = rx[i]
        if c == "\\":
            if i + 1 < len(rx) and rx[i + 1] in _BAD_ESCAPES:
                problems.append(f"escape \\{rx[i + 1]}")
            i += 2
            continue
        if in_class:
            if c == "[":
                problems.append("'[' inside a character class (a nested set in ICU)")
            elif c == "]":
                in_class = False
            elif rx[i:i + 2] in ("&&", "--"):
                problems.append(f"'{rx[i:i + 2]}' inside a character class (a set operation in ICU)")
        else:
            if c == "[":
                in_class = True
                j = i + 1
                if j < len(rx) and rx[j] == "^":
                    j += 1
                if j < len(rx) and rx[j] == "]":   # a leading ']' is literal in Python, not in ICU
                    problems.append("']' first in a character class")
                i = j
                continue
            if rx.startswith("(?", i) and not rx.startswith("(?:", i):
                problems.append(f"group construct {rx[i:i + 4]!r} (only '(?:' allowed)")
            if c == "{" and rx[i + 1:i + 2] == ",":
                problems.append("'{,n}' quantifier")
        i += 1
    if in_class:
        problems.append("unterminated character class")
    return problems


# ---------------------------------------------------------------- checks

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", default=DEFAULT_QUESTIONS)
    p.add_argument("--corpus", default=DEFAULT_CORPUS)
    p.add_argument("--show", type=int, default=0, metavar="N", help="print N matching excerpts per question")
    a = p.parse_args()

    docs = load_corpus(a.corpus)
    if not docs:
        sys.exit(f"no documents in {a.corpus}")
    doc_terms = [set(terms(t)) for _, _, t in docs]
    n_study = sum(1 for _, s, _ in docs if s == STUDY_SOURCE)
    df = {}
    for ts in doc_terms:
        for t in ts:
            df[t] = df.get(t, 0) + 1

    violations = []
    questions = []
    with open(a.questions, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                violations.append(f"line {n}: not JSON ({e})")
                continue
            questions.append((n, q))

    seen_ids = set()
    sizes = []
    for n, q in questions:
        qid = q.get("id", f"line {n}")
        bad = lambda msg: violations.append(f"{qid}: {msg}")
        for key in ("id", "question", "relevant", "about"):
            if not isinstance(q.get(key), str) or not q.get(key).strip():
                bad(f"missing or empty \"{key}\"")
        extra = set(q) - {"id", "question", "relevant", "about"}
        if extra:
            bad(f"unexpected fields {sorted(extra)}")
        if not isinstance(q.get("question"), str) or not isinstance(q.get("relevant"), str):
            continue
        if not re.fullmatch(r"q\d{2,}", qid):
            bad("id is not of the form q01")
        if qid in seen_ids:
            bad("duplicate id")
        seen_ids.add(qid)

        question, rx = q["question"], q["relevant"]
        n_words = len(question.split())
        if not MIN_WORDS <= n_words <= MAX_WORDS:
            bad(f"question has {n_words} words (want {MIN_WORDS}-{MAX_WORDS})")
        for prob in regex_portability_problems(rx):
            bad(f"regex: {prob}")
        try:
            compiled = re.compile(rx, re.IGNORECASE)
        except re.error as e:
            bad(f"regex does not compile: {e}")
            continue

        hits = [i for i, (_, _, t) in enumerate(docs) if compiled.search(t)]
        size = len(hits)
        sizes.append(size)
        not_study = [docs[i][0] for i in hits if docs[i][1] != STUDY_SOURCE]
        if size < MIN_RELEVANT:
            bad(f"relevant set has {size} documents (want at least {MIN_RELEVANT})")
        if not_study:
            bad(f"relevant set has {len(not_study)} non-study documents, e.g. {', '.join(not_study[:5])}")
        if size > MAX_RELEVANT_SHARE * n_study:
            bad(f"relevant set has {size} documents, over {MAX_RELEVANT_SHARE:.0%} of the {n_study} study documents")

        q_terms = [t for t in dict.fromkeys(terms(question)) if t not in STOPWORDS]
        shared = {}
        for t in q_terms:
            in_rel = sum(1 for i in hits if t in doc_terms[i])
            if in_rel:
                shared[t] = in_rel
        if shared:
            bad("shares keywords with relevant documents: "
                + ", ".join(f"{t!r} ({c} docs)" for t, c in sorted(shared.items(), key=lambda kv: -kv[1])))
        if not q_terms:
            bad("question has no terms outside the stopword list")

        print(f"{qid}  relevant={size:4d}  {question}")
        print("      terms (docs in corpus): " + ", ".join(f"{t} {df.get(t, 0)}" for t in q_terms))
        for i in hits[:a.show]:
            text = docs[i][2]
            m = compiled.search(text)
            s, e = max(0, m.start() - 70), min(len(text), m.end() + 70)
            excerpt = text[s:e].replace("\n", " / ")
            print(f"      {docs[i][0]}: ...{excerpt}...")

    if sizes:
        print(f"\n{len(sizes)} questions; relevant-set sizes min {min(sizes)}, median {sorted(sizes)[len(sizes) // 2]}, "
              f"max {max(sizes)} (of {n_study} study documents, {len(docs)} documents in all); "
              f"{len(violations)} violation{'s' if len(violations) != 1 else ''}")
    if violations:
        print("\nVIOLATIONS:")
        for v in violations:
            print("  " + v)
        sys.exit(1)
    print("all rules pass")


if __name__ == "__main__":
    main()
