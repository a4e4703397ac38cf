#!/usr/bin/env python3
"""Benchmark the workbench engine against llama.cpp on the same GGUF file.

One run = N interleaved repetitions. In each repetition llama.cpp (in-process,
through llama-cpp-python's low-level C bindings, model loaded once outside the
timed region) and the workbench (`workbench bench ... --json`, by subprocess)
are each measured once; the order alternates between repetitions so that
neither side systematically gets the warmer (or the noisier) slot.

Both sides measure the same two things:

* prefill: one `llama_decode` of the whole P-token prompt as a single batch
  (n_batch = n_ubatch >= P) into an empty KV cache, logits requested for the
  last position only -> P / seconds.
* decode: G single-token decode steps after that prompt, greedy argmax over the
  logits after each step -> G / seconds (prompt excluded).

Run through scripts/bench-vs-llamacpp.sh, which prepares the venv and builds
the workbench. See bench/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_WORKBENCH = REPO_ROOT / ".build" / "release" / "workbench"

# Fixed English text; repeated until the prompt is long enough, then truncated
# to exactly --prompt-tokens tokens. Deterministic across runs and machines.
PROMPT_PARAGRAPH = (
    "The lighthouse keeper climbed the spiral stairs every evening at dusk, "
    "carrying a tin of oil and a folded cloth. From the lamp room he could see "
    "the fishing boats returning to the harbour, the gulls circling over the "
    "breakwater, and the long grey line of the coast fading into the haze. "
    "He wrote the weather in a ledger, the direction of the wind, the height "
    "of the swell, and the names of the ships that passed before midnight. "
)

FLASH_ATTN_CHOICES = {"auto": -1, "off": 0, "on": 1}


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# llama.cpp side
# --------------------------------------------------------------------------


class LlamaCppRunner:
    """Owns one llama.cpp model + context, reused for every repetition."""

    def __init__(self, model_path: Path, threads: int, prompt_tokens: int,
                 gen_tokens: int, flash_attn: str, verbose: bool):
        try:
            import numpy as np  # noqa: F401
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - environment problem
            raise BenchError(
                f"cannot import llama_cpp/numpy ({exc}); run "
                "scripts/bench-vs-llamacpp.sh, which creates bench/.venv"
            ) from exc
        import numpy as np

        self.np = np
        self.lc = llama_cpp
        self.version = getattr(llama_cpp, "__version__", "unknown")
        self.prompt_tokens = prompt_tokens
        self.gen_tokens = gen_tokens
        self.verbose = verbose
        lc = llama_cpp

        # Capture llama.cpp's log instead of spraying it on stderr; we parse it
        # for the resolved flash-attention state and show it on --verbose or
        # on failure. Keep a reference to the callback so it is not collected.
        self.log_lines: list[str] = []

        @lc.llama_log_callback
        def _log_cb(level, text, user_data):  # noqa: ARG001
            s = text.decode("utf-8", errors="replace")
            self.log_lines.append(s)
            if verbose:
                sys.stderr.write(s)

        self._log_cb = _log_cb
        lc.llama_log_set(self._log_cb, ctypes.c_void_p(0))
        lc.llama_backend_init()

        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0
        self.model = lc.llama_model_load_from_file(str(model_path).encode(), mparams)
        if not self.model:
            raise BenchError(f"llama.cpp failed to load {model_path}\n" + self.log_tail())

        n_needed = prompt_tokens + gen_tokens + 1
        n_ctx = max(512, -(-n_needed // 256) * 256)
        n_batch = max(256, prompt_tokens)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch  # whole prompt in one physical batch
        cparams.n_seq_max = 1
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.flash_attn_type = FLASH_ATTN_CHOICES[flash_attn]
        cparams.embeddings = False
        cparams.no_perf = True
        log_start = len(self.log_lines)
        self.ctx = lc.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise BenchError("llama.cpp failed to create a context\n" + self.log_tail())
        self.n_ctx = lc.llama_n_ctx(self.ctx)
        self.n_batch = n_batch
        self.flash_attn_requested = flash_attn
        self.flash_attn_state = self._parse_flash_attn("".join(self.log_lines[log_start:]))

        self.vocab = lc.llama_model_get_vocab(self.model)
        self.n_vocab = lc.llama_vocab_n_tokens(self.vocab)
        self.mem = lc.llama_get_memory(self.ctx)

        self.prompt = self._make_prompt(prompt_tokens)

        # One batch big enough for the prompt; reused (re-filled) for decode.
        self.batch = lc.llama_batch_init(max(prompt_tokens, 1), 0, 1)

        buf = ctypes.create_string_buffer(256)
        n = lc.llama_model_desc(self.model, buf, len(buf))
        self.model_desc = buf.value.decode(errors="replace") if n > 0 else "?"
        self.system_info = lc.llama_print_system_info().decode(errors="replace").strip()

    # -- helpers ----------------------------------------------------------

    def log_tail(self, n: int = 30) -> str:
        lines = "".join(self.log_lines).splitlines()[-n:]
        return "--- llama.cpp log (tail) ---\n" + "\n".join(lines)

    @staticmethod
    def _parse_flash_attn(log: str) -> str:
        # Recent llama.cpp logs "llama_context: flash_attn = auto" and, once the
        # graph is reserved, "resolve_fused_ops: Flash Attention enabled";
        # older ones "flash_attn = 0/1" or "... auto -> enabled".
        state = "unknown"
        for line in log.splitlines():
            low = line.lower()
            if "flash attention" in low:
                if "disabled" in low or "not supported" in low:
                    state = "disabled"
                elif "enabled" in low:
                    state = "enabled"
            elif "flash_attn" in low and "=" in line and state == "unknown":
                val = line.split("=", 1)[1].strip()
                if "->" in val:
                    val = val.split("->", 1)[1].strip()
                val = {"0": "disabled", "1": "enabled"}.get(val, val)
                if val != "auto":
                    state = val
        return state

    def _make_prompt(self, n_tokens: int) -> list[int]:
        lc = self.lc
        text = PROMPT_PARAGRAPH
        while True:
            raw = text.encode("utf-8")
            cap = len(raw) + 16
            arr = (lc.llama_token * cap)()
            n = lc.llama_tokenize(self.vocab, raw, len(raw), arr, cap, True, False)
            if n < 0:
                raise BenchError("llama_tokenize failed")
            if n >= n_tokens:
                return [arr[i] for i in range(n_tokens)]
            text += PROMPT_PARAGRAPH

    def _fill_batch(self, tokens: list[int], pos0: int) -> None:
        b = self.batch
        n = len(tokens)
        b.n_tokens = n
        for i, tok in enumerate(tokens):
            b.token[i] = tok
            b.pos[i] = pos0 + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = 0
        b.logits[n - 1] = 1  # logits for the last position only

    def _decode(self, what: str) -> None:
        rc = self.lc.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise BenchError(f"llama_decode ({what}) returned {rc}\n" + self.log_tail())

    def _argmax_last(self) -> int:
        ptr = self.lc.llama_get_logits_ith(self.ctx, -1)
        if not ptr:
            raise BenchError("llama_get_logits_ith returned NULL")
        logits = self.np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
        return int(logits.argmax())

    def _clear(self) -> None:
        self.lc.llama_memory_clear(self.mem, True)

    # -- measurement ------------------------------------------------------

    def run_once(self, prompt_tokens: int | None = None, gen_tokens: int | None = None) -> dict:
        """Prefill + greedy decode from an empty KV cache; returns tok/s."""
        lc = self.lc
        p = self.prompt if prompt_tokens is None else self.prompt[:prompt_tokens]
        g = self.gen_tokens if gen_tokens is None else gen_tokens
        self._clear()

        # Prefill: whole prompt, one llama_decode, last-position logits only.
        self._fill_batch(p, 0)
        t0 = time.perf_counter()
        self._decode("prefill")
        lc.llama_synchronize(self.ctx)
        t1 = time.perf_counter()

        # Decode: g single-token steps, greedy argmax after each (the first
        # token fed in is the argmax of the prefill logits).
        tok = self._argmax_last()
        pos = len(p)
        t2 = time.perf_counter()
        for _ in range(g):
            self._fill_batch([tok], pos)
            self._decode("decode")
            tok = self._argmax_last()  # reads logits -> implies synchronize
            pos += 1
        t3 = time.perf_counter()

        self._clear()
        return {
            "prefill_tokens_per_s": len(p) / (t1 - t0),
            "decode_tokens_per_s": g / (t3 - t2) if g else float("nan"),
        }

    def warmup(self) -> None:
        self.run_once(prompt_tokens=min(32, self.prompt_tokens), gen_tokens=min(8, self.gen_tokens))
        # Also touch the full-size prefill graph once, untimed.
        self.run_once(gen_tokens=1)

    def close(self) -> None:
        lc = self.lc
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)
        lc.llama_model_free(self.model)
        lc.llama_backend_free()


# --------------------------------------------------------------------------
# workbench side
# --------------------------------------------------------------------------


def run_workbench(binary: Path, model: Path, threads: int, prompt_tokens: int,
                  gen_tokens: int, timeout: float) -> dict:
    cmd = [str(binary), "bench", "--model", str(model), "--threads", str(threads),
           "--prompt-tokens", str(prompt_tokens), "--gen-tokens", str(gen_tokens), "--json"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise BenchError(f"workbench binary not found: {binary}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"workbench timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise BenchError(
            f"workbench exited with status {proc.returncode}: {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr.strip()}\n--- stdout ---\n{proc.stdout.strip()}"
        )
    obj = None
    # Contract: one JSON object on stdout. Be tolerant of stray log lines.
    try:
        obj = json.loads(proc.stdout)
    except json.JSONDecodeError:
        for line in reversed(proc.stdout.strip().splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                    break
                except json.JSONDecodeError:
                    pass
    if not isinstance(obj, dict):
        raise BenchError(f"workbench did not print a JSON object on stdout:\n{proc.stdout.strip()}")
    out = {}
    for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
        val = obj.get(key)
        if not isinstance(val, (int, float)) or isinstance(val, bool) or not val > 0:
            raise BenchError(f"workbench JSON lacks a positive number for {key!r}: {obj}")
        out[key] = float(val)
    out["extra"] = {k: v for k, v in obj.items() if k not in out}
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def positive_int(s: str) -> int:
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return v


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Compare workbench prefill/decode throughput with llama.cpp (llama-cpp-python).")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="GGUF file (default: %(default)s)")
    ap.add_argument("--threads", type=positive_int, default=2, help="threads for both engines (default: 2)")
    ap.add_argument("--prompt-tokens", type=positive_int, default=256, help="prompt length (default: 256)")
    ap.add_argument("--gen-tokens", type=positive_int, default=128, help="decode steps (default: 128)")
    ap.add_argument("--reps", type=positive_int, default=5, help="interleaved repetitions (default: 5)")
    ap.add_argument("--workbench", type=Path, default=DEFAULT_WORKBENCH,
                    help="workbench binary (default: %(default)s)")
    ap.add_argument("--flash-attn", choices=sorted(FLASH_ATTN_CHOICES), default="auto",
                    help="llama.cpp flash attention (default: auto, llama.cpp's own default)")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-call workbench timeout in s")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--verbose", action="store_true", help="show llama.cpp's log on stderr")
    return ap.parse_args(argv)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    model = args.model.resolve()
    if not model.is_file():
        raise BenchError(f"model file not found: {model}")
    binary = args.workbench
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise BenchError(f"workbench binary not found or not executable: {binary} "
                         "(build it with: swift build -c release --product workbench)")

    def info(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    load1 = os.getloadavg()[0]
    ncpu = os.cpu_count() or 1
    if load1 > 0.5 * ncpu:
        info(f"warning: 1-min load average is {load1:.1f} on {ncpu} CPUs; other work competes "
             "for the cores and llama.cpp (OpenMP spin-waits) degrades sharply under "
             "contention, so results, ratios included, will be unreliable")
    info(f"loading {model.name} into llama.cpp ...")
    llama = LlamaCppRunner(model, args.threads, args.prompt_tokens, args.gen_tokens,
                           args.flash_attn, args.verbose)
    try:
        info("warming up (untimed) ...")
        llama.warmup()
        run_workbench(binary, model, args.threads, min(32, args.prompt_tokens),
                      min(8, args.gen_tokens), args.timeout)  # untimed warm-up (page cache)

        reps = []
        for i in range(args.reps):
            order = ("llama.cpp", "workbench") if i % 2 == 0 else ("workbench", "llama.cpp")
            res = {}
            for side in order:
                if side == "llama.cpp":
                    res[side] = llama.run_once()
                else:
                    res[side] = run_workbench(binary, model, args.threads, args.prompt_tokens,
                                              args.gen_tokens, args.timeout)
            rep = {
                "rep": i + 1,
                "first": order[0],
                "llamacpp_prefill_tokens_per_s": res["llama.cpp"]["prefill_tokens_per_s"],
                "llamacpp_decode_tokens_per_s": res["llama.cpp"]["decode_tokens_per_s"],
                "workbench_prefill_tokens_per_s": res["workbench"]["prefill_tokens_per_s"],
                "workbench_decode_tokens_per_s": res["workbench"]["decode_tokens_per_s"],
            }
            rep["prefill_ratio"] = ratio(rep["workbench_prefill_tokens_per_s"], rep["llamacpp_prefill_tokens_per_s"])
            rep["decode_ratio"] = ratio(rep["workbench_decode_tokens_per_s"], rep["llamacpp_decode_tokens_per_s"])
            reps.append(rep)
            info(f"rep {i + 1}/{args.reps} done "
                 f"(prefill ratio {rep['prefill_ratio']:.3f}, decode ratio {rep['decode_ratio']:.3f})")
        last_extra = res["workbench"]["extra"]
    finally:
        llama.close()

    keys = ["llamacpp_prefill_tokens_per_s", "llamacpp_decode_tokens_per_s",
            "workbench_prefill_tokens_per_s", "workbench_decode_tokens_per_s",
            "prefill_ratio", "decode_ratio"]
    med = {k: statistics.median(r[k] for r in reps) for k in keys}
    # Ratio of medians (robust headline) alongside median of per-rep ratios.
    med_ratio_of_medians = {
        "prefill": ratio(med["workbench_prefill_tokens_per_s"], med["llamacpp_prefill_tokens_per_s"]),
        "decode": ratio(med["workbench_decode_tokens_per_s"], med["llamacpp_decode_tokens_per_s"]),
    }

    config = {
        "model": str(model),
        "threads": args.threads,
        "prompt_tokens": args.prompt_tokens,
        "gen_tokens": args.gen_tokens,
        "reps": args.reps,
        "llama_cpp_python_version": llama.version,
        "llamacpp_flash_attn": f"{llama.flash_attn_requested} -> {llama.flash_attn_state}",
        "llamacpp_n_ctx": llama.n_ctx,
        "llamacpp_n_batch": llama.n_batch,
        "llamacpp_api": "low-level llama_decode (batch, last-position logits only), greedy numpy argmax",
        "llamacpp_system_info": llama.system_info,
        "model_desc": llama.model_desc,
        "loadavg_1min_at_start": round(load1, 2),
        "cpu_count": ncpu,
    }

    if args.json:
        out = {
            "config": config,
            "median": {
                "llamacpp": {"prefill_tokens_per_s": med["llamacpp_prefill_tokens_per_s"],
                             "decode_tokens_per_s": med["llamacpp_decode_tokens_per_s"]},
                "workbench": {"prefill_tokens_per_s": med["workbench_prefill_tokens_per_s"],
                              "decode_tokens_per_s": med["workbench_decode_tokens_per_s"]},
            },
            "ratio": {  # workbench / llama.cpp; > 1 means the workbench is faster
                "prefill": med["prefill_ratio"],
                "decode": med["decode_ratio"],
            },
            "ratio_of_medians": med_ratio_of_medians,
            "workbench_extra": last_extra,
            "reps": reps,
        }
        print(json.dumps(out, indent=2))
        return 0

    print(f"model       {model.name} ({llama.model_desc})")
    print(f"settings    threads={args.threads} prompt={args.prompt_tokens} gen={args.gen_tokens} "
          f"reps={args.reps} (order alternates per rep)")
    print(f"llama.cpp   llama-cpp-python {llama.version}, flash_attn {config['llamacpp_flash_attn']}, "
          f"n_ctx={llama.n_ctx} n_batch=n_ubatch={llama.n_batch}")
    print(f"            {llama.system_info}")
    print()
    hdr = (f"{'rep':>6} {'first':>9} | {'prefill tok/s':^29} | {'decode tok/s':^29}\n"
           f"{'':>6} {'':>9} | {'llama.cpp':>9} {'workbench':>9} {'ratio':>9} | "
           f"{'llama.cpp':>9} {'workbench':>9} {'ratio':>9}")
    print(hdr)
    print("-" * len(hdr.splitlines()[1]))

    def row(label, first, r):
        return (f"{label:>6} {first:>9} | {r['llamacpp_prefill_tokens_per_s']:9.1f} "
                f"{r['workbench_prefill_tokens_per_s']:9.1f} {r['prefill_ratio']:9.3f} | "
                f"{r['llamacpp_decode_tokens_per_s']:9.1f} {r['workbench_decode_tokens_per_s']:9.1f} "
                f"{r['decode_ratio']:9.3f}")

    for r in reps:
        print(row(str(r["rep"]), r["first"], r))
    print("-" * len(hdr.splitlines()[1]))
    print(row("median", "", med))
    print()
    print("ratio = workbench / llama.cpp throughput (>1: workbench faster); median row is the")
    print("median of each column, so its ratio is the median of the per-rep ratios.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        print(f"bench_vs_llamacpp: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
