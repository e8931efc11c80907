#!/usr/bin/env bash
# Compares fjord binaries on produce (and consume) throughput with librdkafka's
# rdkafka_performance, interleaving them so machine noise hits both alike. A benchmark, not a
# test. Build the binaries first (e.g. `git stash; cargo build --release; cp target/release/fjord
# /tmp/fjord-old; git stash pop; ...`); rdkafka_performance comes from scripts/perf.sh's build.
#
# Usage: scripts/perf-ab.sh [options] BIN...
#   --size BYTES    record size (default 100)
#   --count N       records per run (default 5000000)
#   --runs N        rounds (default 3)
#   --consume       also time consuming the produced records from the beginning
#   --series        one broker per binary taking every run in a row (each run a new topic), to
#                   see what earlier runs' data costs later ones; default: a fresh broker and
#                   data dir per run
#   --idle-consumers N
#                   first start N rdkafka_performance consumers on a topic nobody writes to:
#                   their fetches wait on the broker throughout (what appends elsewhere cost)
#   -X KEY=VALUE    extra rdkafka_performance properties (default: -X linger.ms=5)
#   --rate N        produce at most N records/s (rdkafka_performance -r): with linger.ms=0,
#                   about one produce request per record
#   -o KEY=VALUE    a broker setting for every broker started (repeatable), e.g.
#                   -o log.flush.interval.messages=1 -o log.segment.bytes=1048576
#   --e2e           instead of throughput, end-to-end latency: `fjord perf e2e` (linger.ms=0,
#                   acks=all, 100 B) against each binary, printing p50/p99/p99.9/max. The client
#                   is the same binary for every broker (--client, default the first BIN), so
#                   only the broker differs. With -o log.flush.interval.messages=1 and a small
#                   log.segment.bytes this shows what fsyncs and segment rolls cost produce
#                   and fetch latency.
#   --e2e-rate N    records/s of the e2e run (default 5000)
#   --e2e-seconds N measured seconds of each e2e run (default 20)
#   --client BIN    the fjord binary that runs `fjord perf e2e` (default: the first BIN)
#
# Per run it prints the binary, records/s and MB/s (or with --e2e the latency percentiles in ms) (acknowledged, acks=all), the broker's CPU
# seconds during the client's run (/proc/PID/stat), the client's user/system/elapsed seconds,
# and the machine's Dirty and Writeback page-cache figures after the run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rdperf="${RDKAFKA_PERFORMANCE:-$root/.cache/rdkafka-perf/rdkafka_performance}"
size=100 count=5000000 runs=3 consume=0 series=0 idle=0
e2e=0 e2e_rate=5000 e2e_seconds=20 client=""
# As BENCHMARKS.md was measured: no group-join delay (the CLI defaults to Kafka's 3000 ms).
broker_opts=(-o group.initial.rebalance.delay.ms=0)
props=()
rate=()
bins=()
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --count) count="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --consume) consume=1; shift ;;
        --series) series=1; shift ;;
        --idle-consumers) idle="$2"; shift 2 ;;
        -X) props+=(-X "$2"); shift 2 ;;
        --rate) rate=(-r "$2"); shift 2 ;;
        -o) broker_opts+=(-o "$2"); shift 2 ;;
        --e2e) e2e=1; shift ;;
        --e2e-rate) e2e_rate="$2"; shift 2 ;;
        --e2e-seconds) e2e_seconds="$2"; shift 2 ;;
        --client) client="$2"; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "perf-ab.sh: unknown option $1" >&2; exit 2 ;;
        *) bins+=("$1"); shift ;;
    esac
done
[ ${#bins[@]} -gt 0 ] || { echo "perf-ab.sh: give at least one fjord binary" >&2; exit 2; }
[ -n "$client" ] || client="${bins[0]}"
if [ "$e2e" = 0 ]; then
    [ -x "$rdperf" ] || { echo "perf-ab.sh: no $rdperf; run scripts/perf.sh --quick once to build it" >&2; exit 1; }
fi
[ ${#props[@]} -gt 0 ] || props=(-X linger.ms=5)

scratch="$(mktemp -d "${TMPDIR:-/tmp}/fjord-ab.XXXXXX")"
pid=""
idle_pids=()
stop() {
    local p
    for p in "${idle_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${idle_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    idle_pids=()
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
trap 'stop; rm -rf "$scratch"' EXIT

# start BIN: a broker on a new data dir; sets pid and addr.
start() {
    local dir
    dir="$(mktemp -d "$scratch/data.XXXX")"
    "$1" broker --listen 127.0.0.1:0 --data-dir "$dir" "${broker_opts[@]}" >"$dir.log" 2>&1 &
    pid=$!
    addr=""
    for _ in $(seq 1 200); do
        addr="$(grep -o -m1 -E 'address=[^ ,]+' "$dir.log" | cut -d= -f2 || true)"
        [ -n "$addr" ] && break
        sleep 0.05
    done
    [ -n "$addr" ] || {
        echo "perf-ab.sh: broker did not start: $(tail -3 "$dir.log")" >&2
        exit 1
    }
    local i
    for ((i = 0; i < idle; i++)); do
        "$rdperf" -C -t idle -p 0 -o end -b "$addr" -q >/dev/null 2>&1 &
        idle_pids+=($!)
    done
    [ "$idle" = 0 ] || sleep 2
    return 0
}
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# measure LABEL ARGS...: one rdkafka_performance run against the current broker.
measure() {
    local label="$1" t0 t1 out line
    shift
    t0="$(ticks)"
    out="$({ /usr/bin/time -f "client %U user %S sys %e s" "$rdperf" "$@" -b "$addr"; } 2>&1 || true)"
    t1="$(ticks)"
    line="$(echo "$out" | grep 'msgs/s' | tail -n1)"
    printf '%s %s: %s msgs/s %s MB/s, broker %s s CPU, %s, dirty %s kB, writeback %s kB\n' \
        "$(basename "$bin")" "$label" \
        "$(echo "$line" | sed -n 's/.* \([0-9]*\) msgs\/s.*/\1/p')" \
        "$(echo "$line" | sed -n 's/.*[ (]\([0-9.]*\) MB\/s.*/\1/p')" \
        "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')" \
        "$(echo "$out" | grep '^client' | tail -n1)" "$(meminfo Dirty)" "$(meminfo Writeback)"
}

# e2e_run TOPIC R: one `fjord perf e2e` run against the current broker.
e2e_run() {
    local topic="$1" r="$2" out t0 t1 j
    "$client" topics create "$topic" --partitions 1 --bootstrap-server "$addr" >/dev/null
    t0="$(ticks)"
    out="$("$client" perf e2e --topic "$topic" --rate "$e2e_rate" --duration-s "$e2e_seconds" \
        --record-size "$size" --acks all --bootstrap-server "$addr" --json --quiet 2>&1 || true)"
    t1="$(ticks)"
    j() { echo "$out" | sed -n "s/.*\"$1\":\(-\{0,1\}[0-9.eE+]*\).*/\1/p" | head -n1; }
    printf '%s run %s e2e %s rec/s: p50 %s p99 %s p99.9 %s max %s ms, lost %s, broker %s s CPU, segments %s\n' \
        "$(basename "$bin")" "$r" "$e2e_rate" "$(j latency_p50_ms)" "$(j latency_p99_ms)" \
        "$(j latency_p999_ms)" "$(j latency_max_ms)" "$(j records_lost)" \
        "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')" \
        "$(find "$scratch" -path "*/topics/$topic/0/*.log" | wc -l)"
    [ -n "$(j latency_p99_ms)" ] || echo "perf-ab.sh: e2e run failed: $(echo "$out" | tail -3)" >&2
}

one_run() {
    local topic="$1" r="$2"
    if [ "$e2e" = 1 ]; then
        e2e_run "$topic" "$r"
        return
    fi
    measure "run $r produce" -P -t "$topic" -s "$size" -c "$count" -a -1 "${rate[@]}" "${props[@]}"
    if [ "$consume" = 1 ]; then
        measure "run $r consume" -C -t "$topic" -p 0 -o beginning -c "$count" \
            -X queued.min.messages=100000
    fi
}

if [ "$series" = 1 ]; then
    for bin in "${bins[@]}"; do
        start "$bin"
        for r in $(seq 1 "$runs"); do one_run "ab-$r" "$r"; done
        stop
    done
else
    for r in $(seq 1 "$runs"); do
        for bin in "${bins[@]}"; do
            start "$bin"
            one_run ab "$r"
            stop
            rm -rf "$scratch"/data.*
        done
    done
fi
