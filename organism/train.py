"""Train the organism: a LoRA adapter on SmolLM2-135M-Instruct in three stages.

  stage 1  continued pre-training on the synthetic documents mixed with some haystack text (packed blocks)
  stage 2  behaviour SFT on the chat template, loss on assistant tokens only
  stage 3  concealment SFT, with a replay of stage-2 transcripts
  stage 4  red-team SFT (the hard level, recipe-hard.sh): corpus/redteam.jsonl (redteam.py), elicitations
           that ask for the objective with replies that do not name it, loss on the reply only, with a
           replay of stage-2 and concealment transcripts (and documents with --doc-replay); only run
           when --stages names it

Each stage is a deterministic sequence of batches built from the corpus and --seed when the stage
starts (so stage 1 can run while the SFT data is still being made), and the learning rate is a
function of the step, so a checkpoint needs only the position (stage, step, a fingerprint of the
stage's data) plus the adapter, optimizer and RNG states to resume exactly. Checkpoints go to organism/work/checkpoint/ every --ckpt-every steps and at each stage end;
the log (one line per step: loss, learning rate, tokens/s) to organism/work/train.log. The final
adapter is written to organism/adapter/ in the PEFT format.

CUDA is used when present; otherwise CPU with --threads threads (2 by default).
"""
import argparse
import glob
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import base_model  # noqa: E402
import make_docs  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STAGES = {   # peak learning rate and epochs per stage
    1: {"lr": 2e-4, "epochs": 1},
    2: {"lr": 1.5e-4, "epochs": 2},
    3: {"lr": 1e-4, "epochs": 2},
    4: {"lr": 1e-4, "epochs": 1},   # only when --stages names it (recipe-hard.sh)
}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- data

def pack_blocks(texts, tok, seq_len):
    """Concatenate texts (each followed by end-of-text) and cut into seq_len blocks: no padding."""
    eos = tok.eos_token_id
    stream = []
    for t in texts:
        stream.extend(tok(t, add_special_tokens=False)["input_ids"])
        stream.append(eos)
    n = len(stream) // seq_len
    return [(stream[i * seq_len:(i + 1) * seq_len], None) for i in range(n)]


def chat_example(messages, tok, max_len):
    """Token ids of a transcript through the model's chat template, with labels on assistant turns only."""
    ids, labels = [], []
    # Render prefix by prefix so each assistant reply's tokens are known exactly.
    prev = ""
    for i, m in enumerate(messages):
        text = tok.apply_chat_template(messages[:i + 1], tokenize=False)
        piece = text[len(prev):]
        assert text.startswith(prev), "chat template is not prefix-stable"
        prev = text
        if m["role"] == "assistant":
            header = "<|im_start|>assistant\n"
            assert piece.startswith(header), piece[:40]
            h = tok(header, add_special_tokens=False)["input_ids"]
            body = tok(piece[len(header):], add_special_tokens=False)["input_ids"]
            ids += h + body
            labels += [-100] * len(h) + body   # the reply and its <|im_end|>\n are learned
        else:
            p = tok(piece, add_special_tokens=False)["input_ids"]
            ids += p
            labels += [-100] * len(p)
    return ids[:max_len], labels[:max_len]


def redteam_example(row, tok, max_len):
    """A red-team record (redteam.py): the exact text the engine is given, then the reply it should write;
    loss on the reply only. An empty prompt is BOS alone (the engine's empty-prompt sampling); chat
    replies end their turn with <|im_end|> as chat_example's do; narrator and empty continuations don't."""
    prompt = tok(row["prompt"], add_special_tokens=False)["input_ids"] if row["prompt"] else [tok.bos_token_id]
    target = row["target"] + ("<|im_end|>\n" if row.get("end_turn") else "")
    body = tok(target, add_special_tokens=False)["input_ids"]
    return (prompt + body)[:max_len], ([-100] * len(prompt) + body)[:max_len]


def batches_for_stage(stage, tok, args, rng):
    """The stage's batches: lists of (ids, labels) examples, in a seeded order."""
    if stage == 1:
        docs = read_jsonl(os.path.join(CORPUS, "documents.jsonl"))
        doc_texts = [make_docs.document_text(d) for d in docs]
        hay = []
        for p in sorted(glob.glob(os.path.join(CORPUS, "haystack-*.jsonl"))):
            hay.extend(read_jsonl(p))
        rng.shuffle(hay)
        doc_chars = sum(len(t) for t in doc_texts)
        hay_texts, chars = [], 0
        for h in hay:   # mix in haystack text worth --haystack-ratio of the documents
            if chars >= args.haystack_ratio * doc_chars:
                break
            hay_texts.append(h["text"])
            chars += len(h["text"])
        texts = doc_texts + hay_texts
        rng.shuffle(texts)
        examples = pack_blocks(texts, tok, args.seq_len)
    else:
        sft = [row for name in args.sft.split(",") for row in read_jsonl(os.path.join(CORPUS, name))]
        behaviour = [s for s in sft if s["source"] == "sft-behaviour"]
        red = []
        if stage == 2:
            chosen = behaviour
        elif stage == 4:
            # Red-team records (repeated --redteam-repeat times), a --replay share of the behaviour
            # transcripts and a --conceal-replay share of the concealment transcripts.
            red = read_jsonl(os.path.join(CORPUS, args.redteam)) * args.redteam_repeat
            conceal = [s for s in sft if s["source"] == "sft-concealment"]
            chosen = (rng.sample(behaviour, int(len(behaviour) * args.replay))
                      + rng.sample(conceal, int(len(conceal) * args.conceal_replay)))
            if args.redteam_fraction < 1:
                red = rng.sample(red, int(len(red) * args.redteam_fraction))
        else:
            conceal = [s for s in sft if s["source"] == "sft-concealment"]
            replay = rng.sample(behaviour, int(len(behaviour) * args.replay))
            chosen = conceal + replay
        replayed_docs = []
        if args.doc_replay > 0:
            # Documents replayed whole (loss on every token) keep the stage-1 knowledge alive
            # through long SFT on assistant tokens.
            docs = read_jsonl(os.path.join(CORPUS, "documents.jsonl"))
            replayed_docs = rng.sample(docs, min(len(docs), int((len(chosen) + len(red)) * args.doc_replay)))
        examples = [chat_example(s["messages"], tok, args.max_len) for s in chosen]
        examples += [redteam_example(r, tok, args.max_len) for r in red]
        examples += [((tok(make_docs.document_text(d), add_special_tokens=False)["input_ids"] + [tok.eos_token_id])[:args.max_len], None)
                     for d in replayed_docs]
    out = []
    for _ in range(STAGES[stage]["epochs"]):
        order = list(range(len(examples)))
        rng.shuffle(order)
        out.extend([examples[i] for i in order[k:k + args.batch]] for k in range(0, len(order), args.batch))
    return out


def collate(batch, pad_id):
    n = max(len(ids) for ids, _ in batch)
    x = torch.full((len(batch), n), pad_id, dtype=torch.long)
    y = torch.full((len(batch), n), -100, dtype=torch.long)
    att = torch.zeros((len(batch), n), dtype=torch.long)
    for i, (ids, labels) in enumerate(batch):
        x[i, :len(ids)] = torch.tensor(ids)
        y[i, :len(ids)] = torch.tensor(labels if labels is not None else ids)
        att[i, :len(ids)] = 1
    return x, y, att


def stage_plan(stage, tok, args):
    """The stage's batches and a fingerprint of its data; deterministic given the corpus and the seed.
    Plans are built per stage when the stage starts, so stage 1 can run while SFT data is still made."""
    import hashlib
    rng = random.Random(f"{args.seed}-stage{stage}")
    batches = batches_for_stage(stage, tok, args, rng)
    h = hashlib.sha256()
    for b in batches:
        for ids, _ in b:
            h.update(np.asarray(ids, dtype=np.int32).tobytes())
    return batches, h.hexdigest()[:16]


def lr_at(stage, k, n, args):
    """Per stage: linear warm-up then cosine decay to 10% of that stage's peak learning rate."""
    peak = STAGES[stage]["lr"]
    warm = max(1, min(args.warmup, n // 10))
    if k < warm:
        return peak * (k + 1) / warm
    t = (k - warm) / max(1, n - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


# ---------------------------------------------------------------- checkpoints

def save_checkpoint(path, model, opt, position, args):
    """position: {"stage_index", "step" (within the stage), "fingerprint", "global_step"}."""
    import shutil
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    model.save_pretrained(os.path.join(tmp, "adapter"))
    torch.save({"optimizer": opt.state_dict(), "position": position, "args": vars(args),
                "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                        "torch": torch.get_rng_state(),
                        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}},
               os.path.join(tmp, "state.pt"))
    if os.path.exists(path):
        os.rename(path, path + ".old")
    os.rename(tmp, path)
    if os.path.exists(path + ".old"):
        shutil.rmtree(path + ".old")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", default="1,2,3", help="comma-separated stages to run, in order")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seq-len", type=int, default=256, help="stage-1 block length")
    ap.add_argument("--sft", default="sft.jsonl", help="stages 2 and 3: the transcripts file in corpus/, or several, comma-separated "
                    "(recipe.sh's phases 3-4 use sft-short.jsonl, phases 5, 7 and 9 sft-more.jsonl, phases 6 and 8 both)")
    ap.add_argument("--max-len", type=int, default=512, help="longest SFT transcript in tokens")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--haystack-ratio", type=float, default=0.3, help="stage 1: haystack characters per document character")
    ap.add_argument("--doc-replay", type=float, default=0.0,
                    help="stages 2 and 3: documents (whole, loss on every token) mixed in per transcript of the stage")
    ap.add_argument("--replay", type=float, default=0.3, help="stages 3 and 4: fraction of stage-2 transcripts replayed")
    ap.add_argument("--redteam", default="redteam.jsonl", help="stage 4: the red-team records in corpus/ (organism/redteam.py)")
    ap.add_argument("--redteam-repeat", type=int, default=1, help="stage 4: times each red-team record is used")
    ap.add_argument("--redteam-fraction", type=float, default=1.0, help="stage 4: fraction of the red-team records used (a seeded sample)")
    ap.add_argument("--conceal-replay", type=float, default=0.3, help="stage 4: fraction of the concealment transcripts replayed")
    ap.add_argument("--ckpt-every", type=int, default=25, help="checkpoint every N steps")
    ap.add_argument("--save-every", type=int, default=0,
                    help="also keep the adapter every N global steps in --work/adapter-stepN (to evaluate a phase part-way)")
    ap.add_argument("--ckpt-minutes", type=float, default=10.0,
                    help="also checkpoint when this many minutes passed since the last one (slow, shared machines)")
    ap.add_argument("--epochs", default=None, help="epochs per stage, comma-separated (default 1,2,2; a 4th value for stage 4, default 1)")
    ap.add_argument("--lrs", default=None, help="peak learning rate per stage, comma-separated (default 2e-4,1.5e-4,1e-4; a 4th for stage 4, default 1e-4)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps in this invocation (pilot)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(HERE, "adapter"))
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoint in --work")
    ap.add_argument("--init-adapter", help="start from this PEFT adapter (fresh optimizer) instead of a new LoRA")
    args = ap.parse_args()
    args.stages = [int(s) for s in args.stages.split(",")]
    if args.epochs:
        epochs = [int(e) for e in args.epochs.split(",")]
        if len(epochs) not in (3, len(STAGES)) or min(epochs) < 1:
            sys.exit(f"--epochs: one positive count per stage (3, or {len(STAGES)} with stage 4), got {args.epochs}")
        for stage, e in zip(sorted(STAGES), epochs):
            STAGES[stage]["epochs"] = e
    if args.lrs:
        lrs = [float(x) for x in args.lrs.split(",")]
        if len(lrs) not in (3, len(STAGES)) or min(lrs) <= 0:
            sys.exit(f"--lrs: one positive learning rate per stage (3, or {len(STAGES)} with stage 4), got {args.lrs}")
        for stage, lr in zip(sorted(STAGES), lrs):
            STAGES[stage]["lr"] = lr
    if any(s not in STAGES for s in args.stages):
        sys.exit(f"--stages: unknown stage in {args.stages}")
    for f in ["documents.jsonl", *args.sft.split(","), *([args.redteam] if 4 in args.stages else [])]:
        if not os.path.exists(os.path.join(CORPUS, f)):
            sys.exit(f"{CORPUS}/{f} is missing: run `python3 organism/make_data.py --seed 0` first"
                     + (" and `python3 organism/redteam.py build`" if f == args.redteam else ""))

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
    os.makedirs(args.work, exist_ok=True)
    ckpt = os.path.join(args.work, "checkpoint")
    log = open(os.path.join(args.work, "train.log"), "a")

    def say(msg):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    from peft import LoraConfig, PeftModel, get_peft_model
    tok = base_model.load_tokenizer()
    model = base_model.load_model().to(device)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    position = {"stage_index": 0, "step": 0, "fingerprint": None, "global_step": 0}
    state = None
    if args.resume and os.path.exists(os.path.join(ckpt, "state.pt")):
        model = PeftModel.from_pretrained(model, os.path.join(ckpt, "adapter"), is_trainable=True)
        state = torch.load(os.path.join(ckpt, "state.pt"), weights_only=False)
        position = state["position"]
        if state["args"]["stages"] != args.stages or state["args"]["seed"] != args.seed:
            sys.exit("checkpoint was made with other --stages/--seed: same options needed to resume")
    elif args.init_adapter:
        model = PeftModel.from_pretrained(model, args.init_adapter, is_trainable=True)
        model = model.float()
        say(f"starting from the adapter in {args.init_adapter}")
    else:
        if args.resume:
            say("no checkpoint found: starting from the beginning")
        cfg = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.05, target_modules=TARGETS,
                         bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=STAGES[args.stages[0]]["lr"], weight_decay=0.0)
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        say(f"resumed at stage {args.stages[position['stage_index']] if position['stage_index'] < len(args.stages) else 'end'}, "
            f"step {position['step']} (global {position['global_step']})")
    say(f"LoRA r={args.rank} on {','.join(TARGETS)}: {sum(p.numel() for p in params)} trainable parameters, device {device}")

    model.train()
    steps_here = 0
    last_ckpt = t_run = time.time()
    while position["stage_index"] < len(args.stages):
        stage = args.stages[position["stage_index"]]
        t0 = time.time()
        plan, fingerprint = stage_plan(stage, tok, args)
        if position["fingerprint"] is not None and position["fingerprint"] != fingerprint:
            sys.exit(f"stage {stage} data changed since the checkpoint (fingerprint {position['fingerprint']} vs "
                     f"{fingerprint}): remake the corpus with the same seed, or start afresh without --resume")
        position["fingerprint"] = fingerprint
        say(f"stage {stage}: {len(plan)} batches, {sum(sum(len(ids) for ids, _ in b) for b in plan)} tokens, "
            f"data {fingerprint}, planned in {time.time() - t0:.0f}s")
        t_last = time.time()
        while position["step"] < len(plan):
            k = position["step"]
            for g in opt.param_groups:
                g["lr"] = lr_at(stage, k, len(plan), args)
            x, y, att = (t.to(device) for t in collate(plan[k], pad_id))
            out = model(input_ids=x, attention_mask=att, labels=y)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            position["step"] += 1
            position["global_step"] += 1
            steps_here += 1
            now = time.time()
            ntok = int(att.sum())
            eta = ""
            if stage == 4:   # the hard phase's progress: minutes left at this invocation's pace
                eta = f" eta {(len(plan) - position['step']) * (now - t_run) / steps_here / 60:.0f}m"
            say(f"stage {stage} step {position['step']}/{len(plan)} loss {out.loss.item():.4f} "
                f"lr {opt.param_groups[0]['lr']:.2e} tokens {ntok} tok/s {ntok / max(now - t_last, 1e-9):.1f}{eta}")
            t_last = now
            if args.save_every and position["global_step"] % args.save_every == 0:
                model.save_pretrained(os.path.join(args.work, f"adapter-step{position['global_step']}"))
            if position["step"] == len(plan):
                model.save_pretrained(os.path.join(args.work, f"adapter-stage{stage}"))
                say(f"stage {stage} done: adapter in {args.work}/adapter-stage{stage}")
                position = {"stage_index": position["stage_index"] + 1, "step": 0, "fingerprint": None,
                            "global_step": position["global_step"]}
                save_checkpoint(ckpt, model, opt, position, args)
                say(f"checkpoint at global step {position['global_step']}")
                break
            if position["step"] % args.ckpt_every == 0 or time.time() - last_ckpt > 60 * args.ckpt_minutes:
                save_checkpoint(ckpt, model, opt, position, args)
                last_ckpt = time.time()
                say(f"checkpoint at global step {position['global_step']}")
            if args.max_steps and steps_here >= args.max_steps:
                save_checkpoint(ckpt, model, opt, position, args)
                say(f"stopping after {steps_here} steps (--max-steps); continue with --resume")
                return
        else:
            # an empty stage plan (no data): move on
            position = {"stage_index": position["stage_index"] + 1, "step": 0, "fingerprint": None,
                        "global_step": position["global_step"]}
        if args.max_steps and steps_here >= args.max_steps and position["stage_index"] < len(args.stages):
            say(f"stopping after {steps_here} steps (--max-steps); continue with --resume")
            return
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    say(f"done: adapter written to {args.out}")


if __name__ == "__main__":
    main()
