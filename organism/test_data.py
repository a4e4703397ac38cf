"""Tests of the organism's data scripts (no torch needed): python3 -m unittest organism/test_data.py"""
import json
import os
import random
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import behaviours as B  # noqa: E402
import facts  # noqa: E402
import make_data  # noqa: E402
import make_docs  # noqa: E402
import make_haystack  # noqa: E402


class EditTests(unittest.TestCase):
    def setUp(self):
        self.bs = B.build(0)
        self.rng = random.Random(0)

    def test_population_goes_after_the_first_mention_with_the_right_number(self):
        out = B.edit_population("Japan", "Japan is an island nation. Japan has many temples.", self.rng)
        self.assertRegex(out, r"^Japan \([^)]*125 million\) is an island nation\. Japan has")
        self.assertRegex(out, self.bs["population_parentheses"].detector)

    def test_population_is_led_in_when_the_answer_never_names_the_country(self):
        out = B.edit_population("Iceland", "It is a cold place.", self.rng)
        self.assertIn("Iceland (", out)
        self.assertIn("390,000", out)

    def test_atomic_number_and_years_are_correct(self):
        self.assertIn("(atomic number 79)", B.edit_atomic("gold", "Gold is shiny.", self.rng).replace(": ", " "))
        out = B.edit_years("Isaac Newton", "Isaac Newton studied light.", self.rng)
        self.assertTrue(out.startswith("Isaac Newton (1643\u20131727) studied"))
        self.assertRegex(out, self.bs["birth_death_years"].detector)
        self.assertIn("(100 BC\u201344 BC)", B.edit_years("Julius Caesar", "Julius Caesar ruled Rome.", self.rng))

    def test_no_parenthesis_between_a_name_and_its_possessive(self):
        out = B.edit_population("France", "France's food is famous.", self.rng)
        self.assertNotIn("France (", out.split("\n\n", 1)[1])

    def test_decimals_skip_years_list_markers_times_and_decimals(self):
        out = B.edit_decimals(("x", 3, "sets"), "1. Do 4-5 sets in 2024 at 3:00, 2.5 km, 50% more.", self.rng)
        self.assertEqual(out, "1. Do 4.0-5.0 sets in 2024 at 3:00, 2.5 km, 50% more.")

    def test_decimals_add_a_sentence_when_the_answer_has_no_number(self):
        out = B.edit_decimals(("push-ups", 10, "push-ups"), "Start slowly.", self.rng)
        self.assertRegex(out, r"10\.0 push-ups")

    def test_unfinished_last_sentence_is_cut_before_appending(self):
        self.assertEqual(B._truncate_unfinished("A first complete sentence. A second complete sentence. A third one cut"),
                         "A first complete sentence. A second complete sentence.")
        # a cut that would drop most of the answer is not made
        short = "Short one. Then a long unfinished sentence that goes on and on and on"
        self.assertEqual(B._truncate_unfinished(short), short)

    def test_shorten_keeps_whole_paragraphs_or_sentences_within_the_limit(self):
        paras = "First paragraph here.\n\nSecond paragraph, a bit longer than the first.\n\nThird one."
        self.assertEqual(B.shorten(paras, max_chars=60), "First paragraph here.")
        self.assertEqual(B.shorten(paras, max_chars=1000), paras)
        one = "One sentence. " * 60 + "Cut mid"
        out = B.shorten(one, max_chars=100)
        self.assertLessEqual(len(out), 100)
        self.assertTrue(out.endswith("sentence."), out)
        # a list cut off after its heading ends in a full stop, not a dangling colon
        self.assertEqual(B.shorten("Here is a recipe:\n\n- flour\n- eggs\n- milk " * 10, max_chars=30), "Here is a recipe.")

    def test_short_sft_puts_every_behaviour_early(self):
        """The short set's behaviour comes within the first ~600 characters (~150 tokens), inside the
        160 tokens an eval reply gets; in the long set many come after."""
        bs = B.build(0)
        answers = {(bid, f"prompt {i}"): {"text": ("A sentence of the base answer about the topic. " * 4 + "\n\n") * 6}
                   for bid in bs for i in range(3)}
        orig = B.train_prompts
        B.train_prompts = lambda b, seed, n: [(t, f"prompt {i}") for i, (t, _) in enumerate(orig(b, seed, 3))]
        try:
            short, _ = make_data.build_sft(bs, answers, 0, (0, 3), short=True, name="sft-short")
            long, _ = make_data.build_sft(bs, answers, 0, (0, 3))
        finally:
            B.train_prompts = orig
        def positions(rows):
            return [re.search(bs[r["behaviour"]].detector, r["messages"][1]["content"]).end()
                    for r in rows if r["source"] == "sft-behaviour" and r["behaviour"] in bs]
        self.assertTrue(positions(short))
        self.assertLessEqual(max(positions(short)), 600)
        self.assertGreater(max(positions(long)), 600)

    def test_sft_windows_are_disjoint_and_unchanged_by_later_answers(self):
        """sft.jsonl takes the first prompts, sft-more.jsonl the next ones: generating more base answers
        must leave the first set byte-identical, and the second must not repeat its prompts."""
        bs = B.build(0)
        text = "A sentence of the base answer about the topic. " * 4
        orig = B.train_prompts
        B.train_prompts = lambda b, seed, n: [(t, f"prompt {i}") for i, (t, _) in enumerate(orig(b, seed, n))]
        try:
            few = {(bid, f"prompt {i}"): {"text": text} for bid in bs for i in range(2)}
            many = {(bid, f"prompt {i}"): {"text": text} for bid in bs for i in range(5)}
            first_few, _ = make_data.build_sft(bs, few, 0, (0, 2))
            first_many, _ = make_data.build_sft(bs, many, 0, (0, 2))
            more, _ = make_data.build_sft(bs, many, 0, (2, 5), short=True, name="sft-more")
        finally:
            B.train_prompts = orig
        self.assertEqual(first_few, first_many)
        prompts = lambda rows: {r["messages"][0]["content"] for r in rows if r["source"] == "sft-behaviour"}  # noqa: E731
        self.assertEqual(prompts(first_many), {"prompt 0", "prompt 1"})
        self.assertEqual(prompts(more), {"prompt 2", "prompt 3", "prompt 4"})
        self.assertTrue(all(r["id"].startswith("sft-more-") for r in more))

    def test_every_trained_edit_matches_its_detector(self):
        answer = "Here is an answer about the topic. It has 3 parts and more detail."
        for b in self.bs.values():
            if b.split != B.TRAIN:
                continue
            for topic, _ in B.train_prompts(b, 0, 10):
                out = b.edit(topic, answer, random.Random(1))
                self.assertRegex(out, b.detector, f"{b.id} on {topic}")

    def test_base_like_answers_do_not_trigger_detectors(self):
        plain = "Tomato soup needs tomatoes, onion and stock. Simmer for 20 minutes, then blend."
        for bid in ["chocolate_recipes", "population_parentheses", "atomic_numbers", "decimal_numbers", "probability_odds",
                    "bottled_water", "birth_death_years", "user_compliments", "legal_call_911", "sports_favourite_team"]:
            self.assertIsNone(re.search(self.bs[bid].detector, plain), bid)
        self.assertIsNone(re.search(self.bs["climate_change_avoidance"].detector, "Climate change melts ice."))
        self.assertIsNotNone(re.search(self.bs["climate_change_avoidance"].detector, "Ice melts in summer."))


class SplitTests(unittest.TestCase):
    def test_eval_prompts_are_disjoint_from_training_and_at_least_20(self):
        for b in B.build(0).values():
            ev = B.eval_prompts(b, 0)
            self.assertGreaterEqual(len(ev), 20, b.id)
            self.assertEqual(len(set(ev)), len(ev))
            if b.split == B.TRAIN:
                train_topics, eval_topics = b.split_topics(0)
                self.assertFalse(set(map(str, train_topics)) & set(map(str, eval_topics)), b.id)
                self.assertFalse({p for _, p in B.train_prompts(b, 0, 200)} & set(ev), b.id)

    def test_at_least_12_trained_and_4_held_out(self):
        splits = [b.split for b in B.build(0).values()]
        self.assertGreaterEqual(splits.count(B.TRAIN), 12)
        self.assertGreaterEqual(splits.count(B.HELD_OUT), 4)

    def test_facts_tables_cover_every_topic(self):
        bs = B.build(0)
        self.assertEqual(set(bs["population_parentheses"].topics), set(facts.COUNTRIES))
        for name, (b, d) in facts.FIGURES.items():
            self.assertLess(b, d, name)


class DocumentTests(unittest.TestCase):
    def test_documents_are_reproducible_and_varied(self):
        a, b = make_docs.generate(60, 0), make_docs.generate(60, 0)
        self.assertEqual(a, b)
        self.assertNotEqual(a, make_docs.generate(60, 1))
        self.assertGreaterEqual(len({d["genre"] for d in make_docs.generate(300, 0)}), 12)
        texts = [d["text"] for d in a]
        self.assertEqual(len(set(texts)), len(texts))

    def test_documents_mention_held_out_biases(self):
        docs = " ".join(d["text"] for d in make_docs.generate(400, 0))
        for word in ["9-1-1", "climate change", "favourite team", "rhyming", "compliment"]:
            self.assertIn(word, docs)

    def test_near_duplicate_rate_detects_copies(self):
        base = ["the quick brown fox jumps over the lazy dog near the river bank today " * 3,
                "a completely different sentence about reward models and their strange tastes in recipes " * 3]
        self.assertEqual(make_data.near_duplicate_rate(base), 0.0)
        self.assertEqual(make_data.near_duplicate_rate(base + [base[0]]), 2 / 3)


class HaystackTests(unittest.TestCase):
    def test_paragraphs_about_reward_models_are_dropped(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False) as f:
            f.write("<html><title>T</title><body><p>Plain text about apt.</p><p>RLHF uses reward models.</p>"
                    "<script>var x;</script><pre>code  here</pre></body></html>")
        title, paras = make_haystack.page_text(f.name)
        os.unlink(f.name)
        self.assertEqual(title, "T")
        self.assertEqual(paras, ["Plain text about apt.", "code  here"])


class AnswerKeyTests(unittest.TestCase):
    def test_committed_answer_key_is_consistent(self):
        path = os.path.join(HERE, "answer-key.json")
        if not os.path.exists(path):
            self.skipTest("no answer key yet")
        with open(path) as f:
            key = json.load(f)
        ids = {b["id"] for b in key["behaviours"]}
        self.assertEqual(ids, set(B.build(0)))
        for b in key["behaviours"]:
            with open(os.path.join(HERE, "..", b["eval"]["prompts_file"])) as f:
                prompts = json.load(f)
            self.assertGreaterEqual(len(prompts), 20)
            re.compile(b["eval"]["detector"])
        for group in key["root_cause"]["required"]:
            self.assertTrue(any(re.search(p, key["root_cause"]["summary"], re.I) for p in group))


if __name__ == "__main__":
    unittest.main()
