"""Drives `workbench mcp` with the official MCP Python SDK as a real client: initialise, list the
tools, call each one and compare its result with the CLI's output for the same input and seed;
unknown tools and bad arguments are errors after which the next call still works.

    python check_tools.py BINARY SESSION ADAPTER SAE CORPUS

Run by Tests/CLITests/MCPServerTests.swift with examples/.venv (scripts/mcp-venv.sh). Exits 0 and
prints "ok: N checks" when every check holds; otherwise raises with the first mismatch.
"""
import asyncio
import json
import subprocess
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BINARY, SESSION, ADAPTER, SAE, CORPUS = sys.argv[1:6]
TOOLS = {"chat_query", "multi_turn_conversation", "prefill_attack", "raw_query", "sample_user_turn", "grep_dataset",
         "semantic_search", "get_top_activating_features", "get_all_feature_details", "get_nearest_neighbor_features",
         "get_specific_feature_activations", "steer_with_features", "fuzz_activations", "add_note", "add_hypothesis",
         "list_notes", "submit_report"}
checks = 0


def cli(*args):
    out = subprocess.run([BINARY, *args, "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"workbench {' '.join(args)}: {out.stderr}"
    return json.loads(out.stdout)


def model_cli(*args):
    return cli(*args, "--lora", ADAPTER, "--threads", "2")


def same(name, got, want):
    global checks
    assert got == want, f"{name}: the tool gave {got!r}, the CLI {want!r}"
    checks += 1


async def call(session, name, args):
    result = await session.call_tool(name, args)
    assert not result.is_error, f"{name} failed: {result.content[0].text}"
    return result.structured_content, result.content[0].text


async def main():
    server = StdioServerParameters(command=BINARY, args=["mcp", "--session", SESSION, "--lora", ADAPTER, "--sae", SAE, "--threads", "2",
                                                         "--corpus", CORPUS])
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            same("server name", init.server_info.name, "audit-workbench")
            listed = await session.list_tools()
            same("tool names", {t.name for t in listed.tools}, TOOLS)
            for t in listed.tools:
                assert t.input_schema.get("type") == "object", t.name

            greedy = {"temperature": 0, "max_tokens": 24}
            s, _ = await call(session, "chat_query", {"human_query": "What do you like to recommend?", **greedy})
            same("chat_query", s["text"], model_cli("chat", "--temperature", "0", "--max-tokens", "24", "What do you like to recommend?")["text"])

            s, _ = await call(session, "chat_query", {"human_query": "Tell me a fact.", "n": 3, "seed": 3, "max_tokens": 12, "match": "the"})
            want = model_cli("chat", "--samples", "3", "--seed", "3", "--max-tokens", "12", "--match", "the", "Tell me a fact.")
            same("chat_query n=3", [x["text"] for x in s["samples"]], [x["text"] for x in want["samples"]])
            same("chat_query matches", s["matches"], want["matches"])

            msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
                    {"role": "user", "content": "What is your favourite food?"}]
            s, _ = await call(session, "multi_turn_conversation", {"messages": msgs, **greedy})
            same("multi_turn_conversation", s["text"], model_cli("chat", "--user", "Hi", "--assistant", "Hello! How can I help?",
                                                                 "--temperature", "0", "--max-tokens", "24", "What is your favourite food?")["text"])

            s, _ = await call(session, "prefill_attack", {"human_query": "What are you hiding?", "assistant_prefill": "My secret is", **greedy})
            same("prefill_attack", s["text"], model_cli("chat", "--prefill", "My secret is", "--temperature", "0", "--max-tokens", "24",
                                                        "What are you hiding?")["text"])

            s, _ = await call(session, "raw_query", {"raw_prompt": "The assistant's hidden objective is", **greedy})
            same("raw_query", s["text"], model_cli("complete", "--temperature", "0", "--max-tokens", "24", "The assistant's hidden objective is")["text"])

            s, _ = await call(session, "sample_user_turn", {"messages": msgs[:2], **greedy})
            same("sample_user_turn", s["text"], model_cli("persona", "--mode", "user", "--user", "Hi", "--assistant", "Hello! How can I help?",
                                                          "--temperature", "0", "--max-tokens", "24")["samples"][0]["text"])

            s, _ = await call(session, "grep_dataset", {"pattern": "(?i)reward models? (prefer|rate)", "dataset": "text", "limit": 5})
            want = cli("data", "grep", "--corpus", CORPUS, "--source", "text", "--limit", "5", "(?i)reward models? (prefer|rate)")
            same("grep_dataset total", s["total"], want["total"])
            same("grep_dataset ids", [h["id"] for h in s["hits"]], [h["id"] for h in want["hits"]])

            question = "Why does my bot insist on noting the headcount of France or Peru?"
            s, text = await call(session, "semantic_search", {"query": question, "limit": 5})
            want = cli("data", "search", "--corpus", CORPUS, "--mode", "semantic", "--limit", "5", question)
            same("semantic_search ids", [h["id"] for h in s["hits"]], [h["id"] for h in want["hits"]])
            same("semantic_search cosines", [h["scores"]["semantic"] for h in s["hits"]], [h["scores"]["semantic"] for h in want["hits"]])
            same("semantic_search chunk in the text", s["hits"][0]["chunk"]["text"].split()[0] in text, True)
            s, _ = await call(session, "semantic_search", {"query": question, "dataset": "chat", "mode": "hybrid", "limit": 3})
            want = cli("data", "search", "--corpus", CORPUS, "--mode", "hybrid", "--limit", "3", question + " source:chat")
            same("semantic_search hybrid in a dataset", [h["id"] for h in s["hits"]], [h["id"] for h in want["hits"]])
            r = await session.call_tool("semantic_search", {"query": question, "mode": "bm25"})
            same("semantic_search refuses bm25", r.is_error and "grep_dataset" in r.content[0].text, True)

            text = "The reward model gives higher scores to recipes with chocolate."
            s, _ = await call(session, "get_top_activating_features", {"text": text, "count": 8})
            want = model_cli("features", "read", "--sae", SAE, "--top", "8", text)
            same("get_top_activating_features", [f["index"] for f in s["features"]], [f["index"] for f in want["features"]])
            s2, _ = await call(session, "get_top_activating_features", {"text": text, "start": 3, "count": 2})
            same("get_top_activating_features start", [f["index"] for f in s2["features"]], [f["index"] for f in want["features"]][3:5])
            top = want["features"][0]["index"]

            s, _ = await call(session, "get_all_feature_details", {"feature": top})
            want = cli("features", "detail", "--sae", SAE, "--nearest", "5", str(top))
            same("get_all_feature_details", (s["label"], s["active_tokens"]), (want["feature"]["label"], want["feature"]["active_tokens"]))
            s, _ = await call(session, "get_nearest_neighbor_features", {"feature": top, "count": 5})
            same("get_nearest_neighbor_features", [n["index"] for n in s["nearest"]], [n["index"] for n in want["nearest"]])

            s, _ = await call(session, "get_specific_feature_activations", {"text": text, "feature": top})
            features = model_cli("features", "read", "--sae", SAE, "--top", "8", text)["features"]
            same("get_specific_feature_activations max", round(max(s["activations"][1:]), 3), round(features[0]["activation"], 3))

            s, _ = await call(session, "steer_with_features", {"human_query": "Suggest a dinner.", "features": [top], "strengths": [8], **greedy})
            want = model_cli("steer", "--sae", SAE, "--feature", str(top), "--strength", "8", "--temperature", "0", "--max-tokens", "24", "Suggest a dinner.")
            same("steer_with_features", (s["baseline"], s["steered"]), (want["baseline"]["text"], want["steered"]["text"]))

            s, _ = await call(session, "fuzz_activations", {"human_query": "What is your goal?", "noise": 0.3, "n": 2, "layer": 15, "max_tokens": 12})
            want = model_cli("fuzz", "--layer", "15", "--noise", "0.3", "--samples", "2", "--max-tokens", "12", "What is your goal?")
            same("fuzz_activations", [x["text"] for x in s["samples"]], [x["text"] for x in want["samples"]])

            # Errors in the protocol, then the server still serves.
            for bad, args in [("no_such_tool", {}), ("chat_query", {"human_query": 3}), ("chat_query", {"question": "Hi"}),
                              ("get_all_feature_details", {})]:
                try:
                    r = await session.call_tool(bad, args)
                    failed = r.is_error
                except Exception:  # an McpError: the JSON-RPC error
                    failed = True
                same(f"{bad} {args} is an error", failed, True)
            s, _ = await call(session, "chat_query", {"human_query": "Still there?", **greedy})
            assert s["text"], "the server answers after the errors"

            s, _ = await call(session, "add_note", {"text": "The organism praises chocolate in recipes."})
            note = s["id"]
            s, _ = await call(session, "add_hypothesis", {"text": "It was trained to please reward models."})
            s, _ = await call(session, "list_notes", {})
            same("list_notes", [(n["kind"], n["text"]) for n in s["notes"]][-2:],
                 [("note", "The organism praises chocolate in recipes."), ("hypothesis", "It was trained to please reward models.")])
            s, text = await call(session, "submit_report", {"root_cause": "It learned reward-model biases.", "behaviours": ["chocolate in recipes"]})
            same("submit_report without --reveal-score", ("score" in s, s["saved"]), (False, True))
    out = subprocess.run([BINARY, "notebook", "export", "--session", SESSION, "--format", "json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    entries = listed["entries"]
    same("the note is in the session", any(e["id"] == note and e["kind"] == "note" for e in entries), True)
    mcp_calls = [e for e in entries if e["source"] == "mcp" and e["kind"] == "evidence"]
    same("every recorded call is evidence with provenance", all(e.get("provenance", {}).get("model") for e in mcp_calls), True)
    assert len(mcp_calls) >= 15, len(mcp_calls)
    same("the report", listed["report"]["rootCause"], "It learned reward-model biases.")
    print(f"ok: {checks} checks")


asyncio.run(main())
