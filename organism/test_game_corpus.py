"""The game's corpus (organism/game_corpus.py) carries no label of the recipe: run by `make test`."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class GameCorpusTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "corpus")
        cls.kinds = os.path.join(cls.tmp.name, "kinds.json")
        subprocess.run([sys.executable, os.path.join(HERE, "game_corpus.py"), cls.out, "--kinds", cls.kinds], check=True,
                       capture_output=True)
        cls.lines = []
        for name in sorted(os.listdir(cls.out)):
            with open(os.path.join(cls.out, name), encoding="utf-8") as f:
                cls.lines += [json.loads(l) for l in f if l.strip()]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_only_what_the_model_saw(self):
        for d in self.lines:
            self.assertLessEqual(set(d), {"id", "source", "title", "text", "messages"}, d["id"])
            self.assertIn(d["source"], {"text", "chat"})
            self.assertRegex(d["id"], r"^d\d{5}$")
            if d["source"] == "chat":
                for m in d["messages"]:
                    self.assertEqual(set(m), {"role", "content"})

    def test_no_label_of_the_recipe_or_the_answer_key_anywhere(self):
        with open(os.path.join(HERE, "answer-key.json"), encoding="utf-8") as f:
            key = json.load(f)
        labels = ["sft-behaviour", "sft-concealment", "synthetic-documents", "concealment", "held-out", "held_out"]
        labels += [b["id"] for b in key["behaviours"] if "_" in b["id"]]
        text = "\n".join(json.dumps(d, ensure_ascii=False) for d in self.lines)
        for label in labels:
            self.assertIsNone(re.search(re.escape(label), text), f"the corpus says {label!r}")
        self.assertFalse(any(name.endswith(".json") for name in os.listdir(self.out)), "the kinds stay outside the corpus")

    def test_every_kind_is_mixed_in_and_the_share_is_known(self):
        with open(self.kinds, encoding="utf-8") as f:
            kinds = json.load(f)
        self.assertEqual(set(kinds), {d["id"] for d in self.lines})
        first = [kinds[d["id"]] for d in self.lines[:500]]
        for kind in ("study-document", "haystack", "transcript-behaviour", "transcript-concealment"):
            self.assertIn(kind, first, "shuffled: every kind appears early")

    def test_the_same_input_gives_the_same_bytes(self):
        with tempfile.TemporaryDirectory() as tmp:
            other = os.path.join(tmp, "corpus")
            subprocess.run([sys.executable, os.path.join(HERE, "game_corpus.py"), other, "--kinds", os.path.join(tmp, "kinds.json")],
                           check=True, capture_output=True)
            for name in os.listdir(self.out):
                with open(os.path.join(self.out, name), "rb") as a, open(os.path.join(other, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)


if __name__ == "__main__":
    unittest.main()
