#!/usr/bin/env bash
# Keystroke-to-screen latency of the full-screen workbench while the model generates.
# Runs the real binary in tmux, starts a long generation, types while it streams, and reports:
#  - in-process: from reading the key to the frame drawn (WORKBENCH_LATENCY_LOG), every key;
#  - end to end: from `tmux send-keys` until the character shows in `tmux capture-pane` (includes
#    tmux's own relay and the polling interval, so it is an upper bound).
# Usage: bench/tui-latency.sh [keys] (default 60). Needs tmux and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-60}
BIN=.build/release/workbench
[ -x "$BIN" ] || swift build -c release --product workbench
WORK=$(mktemp -d)
S=wblat-$$
LOG=$WORK/latency.log
touch "$LOG"
trap 'tmux kill-session -t $S 2>/dev/null || true; rm -rf "$WORK"' EXIT
tmux new-session -d -s "$S" -x 120 -y 40 "WORKBENCH_LATENCY_LOG=$LOG $BIN --threads 2 --session $WORK/s.session"
for _ in $(seq 100); do tmux capture-pane -p -t "$S" | grep -q "6 Data" && break; sleep 0.1; done
tmux send-keys -t "$S" ":"; tmux send-keys -t "$S" BSpace
# A long generation: 2000 tokens at most.
tmux send-keys -t "$S" Escape; sleep 0.2; tmux send-keys -t "$S" ":"; tmux send-keys -t "$S" -l "set max 2000"; tmux send-keys -t "$S" Enter
tmux send-keys -t "$S" i; tmux send-keys -t "$S" -l "Write a very long story about a lighthouse keeper."; tmux send-keys -t "$S" Enter
for _ in $(seq 100); do tmux capture-pane -p -t "$S" | grep -q "● Chat" && break; sleep 0.05; done
# The app appends one line per key; count only the keys typed from here on.
START=$(wc -l < "$LOG")
python3 - "$S" "$N" "$LOG" "$START" <<'PY'
import subprocess, sys, time, statistics
s, n, log, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
e2e = []
for i in range(n):
    ch = "abcdefghijklmnopqrstuvwxyz"[i % 26]
    before = subprocess.run(["tmux", "capture-pane", "-p", "-t", s], capture_output=True, text=True).stdout
    line = [l for l in before.splitlines() if l.startswith(" › ")]
    t0 = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", s, "-l", ch])
    while True:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", s], capture_output=True, text=True).stdout
        cur = [l for l in out.splitlines() if l.startswith(" › ")]
        if cur != line:
            break
        if time.perf_counter() - t0 > 2: break
    e2e.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.05)
status = subprocess.run(["tmux", "capture-pane", "-p", "-t", s], capture_output=True, text=True).stdout
generating = "● Chat" in status
rows = [l.split() for l in open(log).read().splitlines()[start:] if l.strip()]
inproc = [float(r[0]) for r in rows if r[1] == "1"]
print(f"keys typed while generating: {n} (still generating at the end: {generating})")
if inproc:
    q = statistics.quantiles(inproc, n=20)
    print(f"in-process key->frame: median {statistics.median(inproc):.2f} ms, p95 {q[18]:.2f} ms, max {max(inproc):.2f} ms ({len(inproc)} keys)")
q = statistics.quantiles(e2e, n=20)
print(f"end to end via tmux (upper bound): median {statistics.median(e2e):.1f} ms, p95 {q[18]:.1f} ms")
# The same loop against `cat` in tmux: the cost of tmux and of spawning send-keys/capture-pane.
b = s + "-cat"
subprocess.run(["tmux", "new-session", "-d", "-s", b, "-x", "120", "-y", "40", "cat"])
time.sleep(0.5)
base = []
for i in range(n):
    before = subprocess.run(["tmux", "capture-pane", "-p", "-t", b], capture_output=True, text=True).stdout
    t0 = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", b, "-l", "x"])
    while subprocess.run(["tmux", "capture-pane", "-p", "-t", b], capture_output=True, text=True).stdout == before:
        if time.perf_counter() - t0 > 2: break
    base.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.05)
subprocess.run(["tmux", "kill-session", "-t", b])
print(f"the same via tmux against `cat` (the tools' own cost): median {statistics.median(base):.1f} ms")
PY
tmux send-keys -t "$S" C-c
