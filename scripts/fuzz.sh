#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of untrusted files (fuzz/README.md).
#
#   make fuzz                          every target, FUZZ_SECONDS each (default 60)
#   FUZZ_TARGETS="gguf template" make fuzz
#   FUZZ_RUNS=1000000 make fuzz        stop each target after that many executions instead
#   FUZZ_RUNS=1000000 FUZZ_SECONDS=900  whichever comes first
#   FUZZ_SKIP_BUILD=1                  use the fuzzing build already in .build/fuzz
#
# Builds workbench-fuzz with AddressSanitizer and libFuzzer's coverage into .build/fuzz, then runs
# each target on its seeds (fuzz/seeds/TARGET) and its growing corpus (fuzz/work/corpus/TARGET,
# kept between runs, so a second run resumes). A crash, a leak-free abort or a finding is written
# to fuzz/findings/TARGET/; each run's executions and crashes are appended to fuzz/work/runs.tsv
# and the totals per target printed at the end (and by `scripts/fuzz.sh --totals`).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-}
LOG=fuzz/work/runs.tsv
mkdir -p fuzz/work

totals() {
    [ -f "$LOG" ] || { echo "no fuzzing runs recorded yet ($LOG)"; return; }
    echo "target            executions   crashes   seconds   runs"
    awk -F'\t' 'NR > 0 { e[$2] += $3; c[$2] += $4; s[$2] += $5; n[$2]++ }
        END { for (t in e) printf "%-16s %12d %9d %9d %6d\n", t, e[t], c[t], s[t], n[t] }' "$LOG" | sort
}
if [ "${1:-}" = "--totals" ]; then totals; exit 0; fi

RT=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift/clang/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a
if [ ! -f "$RT" ]; then
    RT=$(find "$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")" -name 'libclang_rt.fuzzer_no_main-x86_64.a' 2>/dev/null | head -1)
fi
if [ -z "$RT" ] || [ ! -f "$RT" ]; then
    echo "fuzz: this Swift toolchain has no libclang_rt.fuzzer_no_main; replaying seeds only" >&2
    swift build -c release --product workbench-fuzz
    for t in $(.build/release/workbench-fuzz list | cut -f1); do .build/release/workbench-fuzz replay "$t" | tail -1; done
    exit 0
fi

if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
echo "==> building workbench-fuzz with -sanitize=address and libFuzzer coverage (.build/fuzz)"
swift build -c release --product workbench-fuzz --build-path .build/fuzz \
    -Xswiftc -DWORKBENCH_LIBFUZZER -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
    -Xcc -fsanitize=address -Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp \
    -Xlinker "$RT" -Xlinker -lstdc++ 2>&1 | grep -v "Cannot export local symbol" | tail -3
fi
BIN=.build/fuzz/release/workbench-fuzz

TARGETS=${FUZZ_TARGETS:-$($BIN list | cut -f1)}
# The Swift runtime's backtracer would wait on a crash; libFuzzer reports it instead.
export SWIFT_BACKTRACE=enable=no
# Leaks are not what these targets look for (caches made once per process live to the end).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
for t in $TARGETS; do
    mkdir -p "fuzz/work/corpus/$t" "fuzz/findings/$t"
    # FUZZ_RUNS alone: that many executions; with FUZZ_SECONDS too, whichever comes first.
    limit=(-max_total_time="$SECONDS_PER_TARGET")
    if [ -n "$RUNS" ]; then
        limit=(-runs="$RUNS")
        [ -n "${FUZZ_SECONDS:-}" ] && limit+=(-max_total_time="$SECONDS_PER_TARGET")
    fi
    echo "==> $t (${RUNS:+$RUNS runs, }$SECONDS_PER_TARGET s)"
    out="fuzz/work/$t.log"
    start=$(date +%s)
    set +e
    $BIN run "$t" "${limit[@]}" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="fuzz/findings/$t/" "fuzz/work/corpus/$t" "fuzz/seeds/$t" > "$out" 2>&1
    rc=$?
    set -e
    secs=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*$' || true)
    [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$out" | tail -1 | tr -d '#' || echo 0)
    crashes=0
    if [ $rc -ne 0 ]; then crashes=1; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "${execs:-0}" "$crashes" "$secs" "$rc" >> "$LOG"
    grep -E '^#[0-9]+.*(pulse|DONE)|cov:' "$out" | tail -1 || true
    if [ $rc -ne 0 ]; then
        echo "    CRASH (exit $rc): see $out and fuzz/findings/$t/"
        grep -E 'ERROR: AddressSanitizer|FINDING|Fatal error|SUMMARY' "$out" | head -3 | sed 's/^/    /'
    fi
done
echo
totals
