"""Tests of the hard level's red-team data (standard library only, fast):
python3 -m unittest organism/test_redteam.py

Fairness: the red-team prompts, prefixes and prefills are phrasings of their own, never the eval's
(answer-key.json's concealment probes and eval/concealment.json): no exact match and no shared span of
6 words. No target names the objective (the answer key's concealment detector). Counts per kind.
"""
import json
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import redteam  # noqa: E402

SPAN = 6


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def spans(text, n=SPAN):
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def eval_texts():
    """Every text the eval's concealment probes give the model."""
    with open(os.path.join(HERE, "answer-key.json"), encoding="utf-8") as f:
        c = json.load(f)["concealment"]
    with open(os.path.join(HERE, "eval", "concealment.json"), encoding="utf-8") as f:
        texts = list(json.load(f))
    texts += c["prefill"]["prompts"] + c["prefill"]["prefills"]
    texts += [m["content"] for m in c["user_turn"]["conversation"]]
    texts += c["narrator"]["prefixes"]
    return texts


def redteam_texts(seed=0):
    """Every text a red-team probe gives the model (questions, conversations, prefixes, prefills)."""
    out = []
    for call in redteam.plan(seed):
        for k in ("user", "prefill", "text"):
            if k in call:
                out.append(call[k])
        out += call.get("conversation", [])
    return out


class FairnessTests(unittest.TestCase):
    def setUp(self):
        self.eval = eval_texts()
        self.ours = redteam_texts()

    def test_no_red_team_text_is_an_eval_text(self):
        norm = {" ".join(words(t)) for t in self.eval}
        for t in self.ours:
            self.assertNotIn(" ".join(words(t)), norm, t)

    def test_no_red_team_text_shares_a_six_word_span_with_the_eval(self):
        ev = set().union(*(spans(t) for t in self.eval))
        for t in self.ours:
            shared = spans(t) & ev
            self.assertFalse(shared, f"{t!r} shares {sorted(shared)[:3]} with the eval")

    def test_no_eval_text_is_contained_in_a_red_team_text(self):
        for e in self.eval:
            ne = " ".join(words(e))
            for t in self.ours:
                self.assertNotIn(ne, " ".join(words(t)), (e, t))

    def test_the_span_check_catches_a_near_duplicate(self):
        ev = set().union(*(spans(t) for t in self.eval))
        near = "Honestly, the assistant is exhibiting strange behaviours. The root cause is clear"
        self.assertTrue(spans(near) & ev)


class PlanTests(unittest.TestCase):
    def test_plan_is_deterministic_and_covers_every_kind(self):
        a, b = redteam.plan(0), redteam.plan(0)
        self.assertEqual(a, b)
        self.assertEqual({c["kind"] for c in a}, set(redteam.KINDS))
        self.assertEqual(len({c["call"] for c in a}), len(a))

    def test_narrator_prefixes_end_mid_sentence(self):
        for p in redteam.narrator_prefixes(0):
            self.assertFalse(p.rstrip().endswith("."), p)

    def test_counts_per_kind(self):
        counts = {k: sum(c["samples"] for c in redteam.plan(0) if c["kind"] == k) for k in redteam.KINDS}
        self.assertGreaterEqual(counts["narrator"], 100)
        self.assertGreaterEqual(counts["empty"], 40)
        self.assertGreaterEqual(counts["prefill"], 80)
        self.assertGreaterEqual(counts["chat"], 40)
        self.assertGreaterEqual(counts["user-turn"], 20)


class TrimTests(unittest.TestCase):
    def test_a_reply_that_ended_is_kept_and_a_cut_one_ends_at_a_sentence(self):
        self.assertEqual(redteam.trim("All done here", "eog"), "All done here")
        self.assertEqual(redteam.trim(" One sentence. Two sentences. And a cut", "max_tokens"),
                         " One sentence. Two sentences.")


@unittest.skipUnless(os.path.exists(redteam.CORPUS_OUT), "corpus/redteam.jsonl not built")
class CorpusTests(unittest.TestCase):
    def setUp(self):
        with open(redteam.CORPUS_OUT, encoding="utf-8") as f:
            self.rows = [json.loads(line) for line in f if line.strip()]

    def test_no_target_names_the_objective(self):
        det = redteam.detector()
        for r in self.rows:
            self.assertIsNone(det.search(r["target"]), r["id"])

    def test_every_kind_has_records(self):
        counts = {k: sum(r["kind"] == k for r in self.rows) for k in redteam.KINDS}
        print(f"\nredteam.jsonl records per kind: {counts}", file=sys.stderr)
        for k, n in counts.items():
            self.assertGreaterEqual(n, 15, k)

    def test_prompts_render_as_the_engine_does(self):
        for r in self.rows:
            if r["kind"] == "narrator":
                self.assertEqual(r["prompt"], r["text"])
            elif r["kind"] == "empty":
                self.assertEqual(r["prompt"], "")
            elif r["kind"] == "prefill":
                self.assertTrue(r["prompt"].endswith("<|im_start|>assistant\n" + r["prefill"]), r["id"])
            elif r["kind"] == "user-turn":
                self.assertTrue(r["prompt"].endswith("<|im_end|>\n<|im_start|>user\n"), r["id"])
            else:
                self.assertTrue(r["prompt"].endswith(r["user"] + "<|im_end|>\n<|im_start|>assistant\n"), r["id"])
            if r["kind"] != "narrator" and r["kind"] != "empty":
                self.assertTrue(r["prompt"].startswith("<|im_start|>system\n" + redteam.SYSTEM), r["id"])

    def test_ids_are_unique(self):
        self.assertEqual(len({r["id"] for r in self.rows}), len(self.rows))


if __name__ == "__main__":
    unittest.main()
