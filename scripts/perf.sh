#!/usr/bin/env bash
# Benchmarks a fresh Fjord broker on this machine and prints a markdown table of every figure,
# with ratios to baselines measured in the same run (see BENCHMARKS.md). A benchmark, not a
# test: nothing here passes or fails on a number.
#
# Usage: scripts/perf.sh [--quick]
#   --quick   a tenth of the records and a 10 s e2e run: a smoke run of the whole script
#
# Steps:
#   1. `cargo build --release --bin fjord` (a private copy of the binary is used, so other
#      engineers' builds cannot swap it mid-run)
#   2. librdkafka's rdkafka_performance: reused from .cache/librdkafka-2.12.1 (the copy
#      scripts/librdkafka-suite.sh configures) when its libraries are built there, else
#      copied from the rdkafka-sys crate sources to .cache/rdkafka-perf/ and built with
#      ./configure --no-download --disable-ssl --disable-gssapi --disable-curl; make libs
#   3. start `fjord broker` on 127.0.0.1:0 with a data dir under .cache/perf/; idle RSS
#      (VmRSS of /proc/PID/status) 2 s after it is ready
#   4. `fjord perf baseline` in the same directory: loopback TCP, 1 GiB write + fsync, the
#      cost of a first and second write to each page of 1 GiB of new memory
#   5. (each produce phase starts after a `sync`, outside the measurement, so it does not pay
#      for the writeback of the phases before it)
#      `fjord perf produce` 100 B and 1 KiB acks=all, `fjord perf consume` 100 B,
#      `fjord perf e2e` at 20,000 rec/s, rdkafka_performance produce and consume 100 B;
#      broker RSS is sampled every 100 ms during the produce runs
#   6. the produce runs again with client settings tuned for throughput ($tuned below: a
#      longer linger, bigger batches and queues), rdkafka_performance and `fjord perf produce`,
#      100 B and 1 KiB, acks=all
#   7. consumer groups: `fjord perf rebalance` (10 members, 100 partitions, 3 rounds; classic
#      and KIP-848 `consumer` protocol) and `fjord perf commits` (sync and async OffsetCommit,
#      10 partitions per commit)
#   8. a second broker with log.flush.interval.messages=1 (fsync before every ack) for one
#      more produce 100 B acks=all run, then `fjord perf e2e` at 200 rec/s on a third broker
#      with log.flush.interval.messages=1 and log.segment.bytes=131072 (a segment roll about
#      every 4 s): the latency a consumer sees while segments roll and every append fsyncs
#
# Every phase also reports CPU use, as % of one core: the broker's (from /proc/PID/stat), the
# client's (bash `time`), and the rest of the machine's (other processes, interrupts): this
# machine is shared, and a busy neighbour shows up there rather than silently in the figures.
#
# Environment:
#   FJORD_BIN           use this fjord binary instead of building target/release/fjord
#   PERF_RECORDS        records of the 100 B runs (default 5000000; 500000 with --quick)
#   PERF_RECORDS_1K     records of the 1 KiB run (default 1000000; 100000 with --quick)
#   PERF_E2E_SECONDS    e2e duration (default 30; 10 with --quick)
#   PERF_COMMIT_SECONDS each phase of the commits run (default 10; 3 with --quick)
#   PERF_REBALANCE_ROUNDS rounds of each rebalance run (default 3; 1 with --quick)
#   PERF_PARTITIONS     partitions of each benchmark topic (default 1)
#   PERF_DIR            where data dirs and logs go (default .cache/perf)
#
# Output: progress on stderr; the table on stdout, also saved to $PERF_DIR/last/table.md with
# each client's JSON and log and the broker logs beside it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rdkafka_sys="rdkafka-sys-4.10.0+2.12.1"
librdkafka_version="2.12.1"
suite_copy="$root/.cache/librdkafka-$librdkafka_version"
own_copy="$root/.cache/rdkafka-perf/librdkafka-$librdkafka_version"
perf_root="${PERF_DIR:-$root/.cache/perf}"

quick=0
case "${1:-}" in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        exit 0
        ;;
    "") ;;
    *)
        echo "perf.sh: unknown argument '$1' (see --help)" >&2
        exit 2
        ;;
esac
if [ "$quick" = 1 ]; then
    records="${PERF_RECORDS:-500000}"
    records_1k="${PERF_RECORDS_1K:-100000}"
    e2e_seconds="${PERF_E2E_SECONDS:-10}"
    commit_seconds="${PERF_COMMIT_SECONDS:-3}"
    rebalance_rounds="${PERF_REBALANCE_ROUNDS:-1}"
else
    records="${PERF_RECORDS:-5000000}"
    records_1k="${PERF_RECORDS_1K:-1000000}"
    e2e_seconds="${PERF_E2E_SECONDS:-30}"
    commit_seconds="${PERF_COMMIT_SECONDS:-10}"
    rebalance_rounds="${PERF_REBALANCE_ROUNDS:-3}"
fi
partitions="${PERF_PARTITIONS:-1}"
e2e_rate=20000
fsync_records=$((records / 5))
# Below what one fsync per record can sustain here: this VM's disk takes about 2.6 ms per
# small write + fsync (`dd bs=200 count=2000 oflag=dsync`: 5.2 s), so at most ~380/s. At the
# 5,000 rec/s used before, every broker fell behind and the "latency" was the producer's queue
# growing for the whole run (p50 4-6 s, see BENCHMARKS.md).
e2e_fsync_rate=200
# Producer settings tuned for throughput (see BENCHMARKS.md for how they were chosen): wait
# longer for batches, let a batch hold up to 1 MB of records (batch.size is capped by
# message.max.bytes anyway), and let librdkafka queue more before pushing back.
tuned_label="linger.ms=20, batch.num.messages=100000, queue 2M msgs/2 GiB"
tuned=(-X linger.ms=20 -X batch.size=1000000 -X batch.num.messages=100000
    -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097152
    -X compression.type=none)

say() { echo "perf.sh: $*" >&2; }
die() {
    echo "perf.sh: error: $*" >&2
    exit 1
}

# --- 1. the fjord binary ---------------------------------------------------------------------

mkdir -p "$perf_root"
work="$(mktemp -d "$perf_root/run.XXXXXX")"
ln -sfn "$(basename "$work")" "$perf_root/last"
if [ -n "${FJORD_BIN:-}" ]; then
    [ -x "$FJORD_BIN" ] || die "FJORD_BIN=$FJORD_BIN is not an executable"
    cp "$FJORD_BIN" "$work/fjord"
else
    say "cargo build --release --bin fjord"
    (cd "$root" && cargo build --release --bin fjord) || die "cargo build failed"
    cp "${CARGO_TARGET_DIR:-$root/target}/release/fjord" "$work/fjord"
fi
fjord="$work/fjord"

# --- 2. rdkafka_performance ------------------------------------------------------------------

find_crate_sources() {
    local dir
    for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$rdkafka_sys"/librdkafka; do
        [ -f "$dir/configure" ] && { echo "$dir"; return 0; }
    done
    return 1
}

build_rdkafka_performance() {
    local src
    if [ -f "$suite_copy/src/librdkafka.a" ] && [ -f "$suite_copy/Makefile.config" ]; then
        src="$suite_copy"
    else
        src="$own_copy"
        if [ ! -f "$src/src/librdkafka.a" ]; then
            local from
            from="$(find_crate_sources)" || {
                (cd "$root" && cargo fetch --quiet) || return 1
                from="$(find_crate_sources)" || return 1
            }
            say "building librdkafka $librdkafka_version in $src (a few minutes)"
            rm -rf "$src"
            mkdir -p "$(dirname "$src")"
            cp -a "$from" "$src"
            (cd "$src" &&
                ./configure --no-download --disable-ssl --disable-gssapi --disable-curl \
                    >"$src/.perf-configure.log" 2>&1 &&
                make -j"$(nproc)" libs >"$src/.perf-make-libs.log" 2>&1) || return 1
        fi
    fi
    if [ ! -x "$src/examples/rdkafka_performance" ]; then
        say "make -C examples rdkafka_performance in $src"
        make -C "$src/examples" rdkafka_performance >"$work/rdkafka_performance-build.log" 2>&1 ||
            return 1
    fi
    mkdir -p "$root/.cache/rdkafka-perf"
    cp "$src/examples/rdkafka_performance" "$root/.cache/rdkafka-perf/rdkafka_performance"
}

rdperf=""
if build_rdkafka_performance; then
    rdperf="$root/.cache/rdkafka-perf/rdkafka_performance"
else
    say "warning: could not build rdkafka_performance; its rows are left out"
fi

# --- the broker and measurements -------------------------------------------------------------

broker_pid=""
sampler_pid=""
stop_broker() {
    if [ -n "$broker_pid" ]; then
        kill "$broker_pid" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$broker_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
        broker_pid=""
    fi
}
cleanup() {
    if [ -n "$sampler_pid" ]; then
        kill "$sampler_pid" 2>/dev/null || true
    fi
    stop_broker
    rm -rf "$work"/data-*
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a broker with a fresh data dir and the given -o KEY=VALUE overrides; sets broker_addr.
start_broker() {
    local name="$1" log data
    shift
    log="$work/broker-$name.log"
    data="$work/data-$name"
    mkdir -p "$data"
    # The group-join delay as the figures in BENCHMARKS.md were measured (the CLI's default is
    # Kafka's 3000 ms, which would add 3 s to every first rebalance).
    NO_COLOR=1 FJORD_LOG=info "$fjord" broker --listen 127.0.0.1:0 --data-dir "$data" \
        -o group.initial.rebalance.delay.ms=0 "$@" \
        >"$log" 2>&1 &
    broker_pid=$!
    broker_addr=""
    local i
    for i in $(seq 1 300); do
        broker_addr="$(grep -o -m1 -E 'address=[^ ,]+' "$log" | head -n1 | cut -d= -f2 || true)"
        [ -n "$broker_addr" ] && return 0
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$log" >&2
    die "the broker did not start (log: $log)"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Samples the broker's VmRSS every 100 ms into $work/rss-peak until stopped.
start_rss_sampler() {
    local pid="$broker_pid" out="$work/rss-peak"
    [ -f "$out" ] || echo 0 >"$out"
    (
        peak="$(cat "$out")"
        while kill -0 "$pid" 2>/dev/null; do
            now="$(rss_kb "$pid")"
            if [ "${now:-0}" -gt "$peak" ]; then
                peak="$now"
                echo "$peak" >"$out"
            fi
            sleep 0.1
        done
    ) &
    sampler_pid=$!
}
stop_rss_sampler() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
}

ticks_per_s="$(getconf CLK_TCK)"
ncpu="$(nproc)"
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Busy and total jiffies of the whole machine.
# (Steal, time the hypervisor gave to other guests, is neither; it only shrinks the machine.)
machine_ticks() { awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 }' /proc/stat; }

# Writes back what earlier phases left dirty in the page cache, outside any measurement, so
# each produce phase starts with the same (empty) writeback backlog instead of paying for
# the phases before it.
settle() {
    sync
    sleep 1
}

declare -A cpu_broker cpu_client cpu_other failed
# run_phase NAME COMMAND...: runs a client with stdout to $work/NAME.out and stderr to
# $work/NAME.err, and records the CPU use of the broker, the client and everything else.
# A failed client is reported (with the broker's thread states, in case it hangs) and its
# rows say so; the other phases still run.
run_phase() {
    local name="$1" b0 b1 m0 m1 t
    shift
    say "running $name"
    b0="$(proc_ticks "$broker_pid")"
    m0="$(machine_ticks)"
    if ! { TIMEFORMAT='%3U %3S %3R'; time "$@" >"$work/$name.out" 2>"$work/$name.err"; } \
        2>"$work/$name.time"; then
        failed[$name]=1
        say "warning: $name failed (log: $work/$name.err):"
        tail -3 "$work/$name.err" >&2
        for t in /proc/"$broker_pid"/task/*; do
            echo "$(cat "$t/comm") $(awk '{ print $3 }' "$t/stat") $(cat "$t/wchan")"
        done >"$work/$name.broker-threads" 2>/dev/null || true
        : >"$work/$name.out"
        return 0
    fi
    b1="$(proc_ticks "$broker_pid")"
    m1="$(machine_ticks)"
    t="$(tail -1 "$work/$name.time")"
    read -r "cpu_broker[$name]" "cpu_client[$name]" "cpu_other[$name]" < <(
        awk -v t="$t" -v b0="$b0" -v b1="$b1" -v m0="$m0" -v m1="$m1" -v hz="$ticks_per_s" '
            BEGIN {
                split(t, c, " "); split(m0, a, " "); split(m1, z, " ")
                wall = c[3] > 0 ? c[3] : 1
                broker = (b1 - b0) / hz; client = c[1] + c[2]; busy = (z[1] - a[1]) / hz
                other = busy - broker - client; if (other < 0) other = 0
                printf "%.0f %.0f %.0f\n", 100 * broker / wall, 100 * client / wall, 100 * other / wall
            }')
}

# json_get FILE KEY: a number from a flat one-line JSON object.
json_get() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+]*\).*/\1/p" "$1" | head -n1; }

create_topic() {
    "$fjord" topics create "$1" --partitions "$partitions" --bootstrap-server "$broker_addr" \
        >>"$work/topics.log" 2>&1 || die "cannot create topic $1 (log: $work/topics.log)"
}

# --- 3-5. the main broker --------------------------------------------------------------------

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v l="${load_before%% *}" 'BEGIN { exit !(l > 1) }'; then
    say "warning: load average $load_before before the run; other work will show in the 'rest' CPU column and lower the figures"
fi
start_broker main
say "broker ready at $broker_addr (pid $broker_pid); logs in $work"
sleep 2
idle_rss_kb="$(rss_kb "$broker_pid")"

run_phase baseline "$fjord" perf baseline --dir "$work" --warm-memory-gib 1 --json --quiet
loopback="$(json_get "$work/baseline.out" tcp_loopback_mb_per_s)"
disk_fsync="$(json_get "$work/baseline.out" disk_write_fsync_mb_per_s)"
disk_cache="$(json_get "$work/baseline.out" disk_write_page_cache_mb_per_s)"
# µs per 4 KiB page of the first and second write to 1 GiB of new memory.
touch_first_us="$(awk -v s="$(json_get "$work/baseline.out" warm_first_touch_s)" 'BEGIN { printf "%.2f", s * 1e6 / 262144 }')"
touch_second_us="$(awk -v s="$(json_get "$work/baseline.out" warm_second_touch_s)" 'BEGIN { printf "%.2f", s * 1e6 / 262144 }')"

for t in perf-100b perf-1k perf-e2e perf-rdk; do create_topic "$t"; done
client=(--bootstrap-server "$broker_addr" --json)

start_rss_sampler
settle
run_phase produce_100b "$fjord" perf produce --topic perf-100b --records "$records" \
    --record-size 100 --acks all "${client[@]}"
settle
run_phase produce_1k "$fjord" perf produce --topic perf-1k --records "$records_1k" \
    --record-size 1024 --acks all "${client[@]}"
if [ -n "$rdperf" ]; then
    # librdkafka's own defaults (rdkafka_performance otherwise sets linger.ms=1000).
    settle
    run_phase rdk_produce "$rdperf" -P -t perf-rdk -b "$broker_addr" -s 100 -c "$records" \
        -a -1 -X linger.ms=5
fi
for t in perf-100b-tuned perf-1k-tuned perf-rdk-tuned perf-rdk-1k-tuned; do create_topic "$t"; done
settle
run_phase produce_100b_tuned "$fjord" perf produce --topic perf-100b-tuned --records "$records" \
    --record-size 100 --acks all "${tuned[@]}" "${client[@]}"
settle
run_phase produce_1k_tuned "$fjord" perf produce --topic perf-1k-tuned --records "$records_1k" \
    --record-size 1024 --acks all "${tuned[@]}" "${client[@]}"
if [ -n "$rdperf" ]; then
    settle
    run_phase rdk_produce_tuned "$rdperf" -P -t perf-rdk-tuned -b "$broker_addr" -s 100 \
        -c "$records" -a -1 "${tuned[@]}"
    settle
    run_phase rdk_produce_1k_tuned "$rdperf" -P -t perf-rdk-1k-tuned -b "$broker_addr" -s 1024 \
        -c "$records_1k" -a -1 "${tuned[@]}"
fi
stop_rss_sampler
produce_peak_kb="$(cat "$work/rss-peak")"

run_phase consume_100b "$fjord" perf consume --topic perf-100b --records "$records" \
    "${client[@]}"
if [ -n "$rdperf" ]; then
    parts=()
    for ((p = 0; p < partitions; p++)); do parts+=(-p "$p"); done
    # librdkafka's default queued.min.messages (rdkafka_performance otherwise sets 1000000).
    run_phase rdk_consume "$rdperf" -C -t perf-rdk "${parts[@]}" -b "$broker_addr" \
        -o beginning -c "$records" -X queued.min.messages=100000
fi
run_phase e2e "$fjord" perf e2e --topic perf-e2e --rate "$e2e_rate" --duration-s "$e2e_seconds" \
    --record-size 100 "${client[@]}"
for proto in classic consumer; do
    run_phase "rebalance_$proto" "$fjord" perf rebalance --members 10 --partitions 100 \
        --protocol "$proto" --rounds "$rebalance_rounds" "${client[@]}" --quiet
done
run_phase commits "$fjord" perf commits --seconds "$commit_seconds" --partitions 10 \
    "${client[@]}" --quiet
sleep 2
after_rss_kb="$(rss_kb "$broker_pid")"
hwm_main_kb="$(hwm_kb "$broker_pid")"
stop_broker

# --- 8. fsync before every acknowledgement ---------------------------------------------------

start_broker fsync -o log.flush.interval.messages=1
create_topic perf-fsync
client=(--bootstrap-server "$broker_addr" --json)
settle
run_phase produce_fsync "$fjord" perf produce --topic perf-fsync --records "$fsync_records" \
    --record-size 100 --acks all "${client[@]}"
stop_broker
start_broker fsync-roll -o log.flush.interval.messages=1 -o log.segment.bytes=131072
create_topic perf-e2e-fsync
client=(--bootstrap-server "$broker_addr" --json)
settle
run_phase e2e_fsync "$fjord" perf e2e --topic perf-e2e-fsync --rate "$e2e_fsync_rate" \
    --duration-s "$e2e_seconds" --record-size 100 "${client[@]}"
stop_broker

# --- the table -------------------------------------------------------------------------------

# rdkafka_performance's last summary line: "... in 1863ms: 1072980 msgs/s and 107.30 MB/s ..."
rdk_rate() { grep -E "$2" "$1" | tail -n1 | sed -n 's/.* \([0-9]*\) msgs\/s.*/\1/p'; }
rdk_mbps() { grep -E "$2" "$1" | tail -n1 | sed -n 's/.*[ (]\([0-9.]*\) MB\/s.*/\1/p'; }

fmt_int() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); n = length(s); o = "";
    for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," }
    print o }'; }
fmt_1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "") printf "%.2f", a / b; else print "-" }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "") { print "-"; exit }
    ok = (op == ">=") ? v + 0 >= t : (op == "<=") ? v + 0 <= t : v + 0 < t; print ok ? "yes" : "**no**" }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
cpu() { [ -n "${failed[$1]:-}" ] && echo "-" || echo "${cpu_broker[$1]}% / ${cpu_client[$1]}% / ${cpu_other[$1]}%"; }
# row PHASE CELL...: a table row of the given cells, or, when that phase's client failed, a row
# saying so (the cells are the title, result, target, met, ratios and CPU columns).
row() {
    local name="$1"
    shift
    if [ -n "${failed[$name]:-}" ]; then
        echo "| $1 | failed (see $name.err) | $3 | **no** | | | |"
    else
        printf '| %s ' "$@"
        echo '|'
    fi
}

f="$work"
p100_rate="$(json_get "$f/produce_100b.out" records_per_s)"
p100_mb="$(json_get "$f/produce_100b.out" mb_per_s)"
p1k_mb="$(json_get "$f/produce_1k.out" mb_per_s)"
p1k_rate="$(json_get "$f/produce_1k.out" records_per_s)"
c100_rate="$(json_get "$f/consume_100b.out" records_per_s)"
c100_mb="$(json_get "$f/consume_100b.out" mb_per_s)"
pfs_rate="$(json_get "$f/produce_fsync.out" records_per_s)"
pfs_mb="$(json_get "$f/produce_fsync.out" mb_per_s)"
e2e_p50="$(json_get "$f/e2e.out" latency_p50_ms)"
e2e_p99="$(json_get "$f/e2e.out" latency_p99_ms)"
e2e_p999="$(json_get "$f/e2e.out" latency_p999_ms)"
e2e_max="$(json_get "$f/e2e.out" latency_max_ms)"
e2e_lost="$(json_get "$f/e2e.out" records_lost)"
e2e_lag="$(json_get "$f/e2e.out" max_send_lag_ms)"
lat() { echo "p50 $(json_get "$1" latency_p50_ms) / p99 $(json_get "$1" latency_p99_ms) / max $(json_get "$1" latency_max_ms) ms"; }
idle_mb="$(awk -v kb="$idle_rss_kb" 'BEGIN { print kb / 1024 }')"
peak_mb="$(awk -v kb="$produce_peak_kb" 'BEGIN { print kb / 1024 }')"

table="$work/table.md"
{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r); load average before the run $load_before; $partitions partition(s) per topic; MB = 10^6 bytes of record payload; CPU as % of one core (broker = its process, client = the benchmark process, rest = everything else on the machine: other processes, kernel threads such as writeback, interrupts)."
    echo
    echo "| Benchmark | Result | Target | Met | ÷ loopback | ÷ disk (fsync) | CPU broker / client / rest |"
    echo "|---|---|---|---|---|---|---|"
    row baseline "Baseline: loopback TCP" "$(fmt_1 "$loopback") MB/s" "" "" "1.00" "" "$(cpu baseline)"
    row baseline "Baseline: disk write 1 GiB + fsync" \
        "$(fmt_1 "$disk_fsync") MB/s (page cache only: $(fmt_1 "$disk_cache") MB/s)" "" "" "" "1.00" ""
    row baseline "Baseline: write to 1 GiB of new memory, per 4 KiB page" \
        "first touch $touch_first_us µs, second touch $touch_second_us µs" "" "" "" "" ""
    row none "Broker idle RSS (2 s after start)" "$(mb "$idle_rss_kb")" "< 20 MB" \
        "$(meets "$idle_mb" "<" 20)" "" "" ""
    row produce_100b "\`fjord perf produce\` 100 B, acks=all" \
        "$(fmt_int "$p100_rate") rec/s, $(fmt_1 "$p100_mb") MB/s; $(lat "$f/produce_100b.out")" \
        ">= 2,000,000 rec/s" "$(meets "$p100_rate" ">=" 2000000)" "$(ratio "$p100_mb" "$loopback")" \
        "$(ratio "$p100_mb" "$disk_fsync")" "$(cpu produce_100b)"
    row produce_1k "\`fjord perf produce\` 1 KiB, acks=all" \
        "$(fmt_1 "$p1k_mb") MB/s, $(fmt_int "$p1k_rate") rec/s; $(lat "$f/produce_1k.out")" \
        ">= 600 MB/s" "$(meets "$p1k_mb" ">=" 600)" "$(ratio "$p1k_mb" "$loopback")" \
        "$(ratio "$p1k_mb" "$disk_fsync")" "$(cpu produce_1k)"
    if [ -n "$rdperf" ]; then
        r="$(rdk_rate "$f/rdk_produce.out" 'messages produced')"
        m="$(rdk_mbps "$f/rdk_produce.out" 'messages produced')"
        row rdk_produce "rdkafka_performance produce 100 B, acks=all, linger.ms=5" \
            "$(fmt_int "$r") rec/s, $(fmt_1 "$m") MB/s" ">= 2,000,000 rec/s" \
            "$(meets "$r" ">=" 2000000)" "$(ratio "$m" "$loopback")" "$(ratio "$m" "$disk_fsync")" \
            "$(cpu rdk_produce)"
    fi
    p="produce_100b_tuned"
    row $p "\`fjord perf produce\` 100 B, acks=all, tuned: $tuned_label" \
        "$(fmt_int "$(json_get "$f/$p.out" records_per_s)") rec/s, $(fmt_1 "$(json_get "$f/$p.out" mb_per_s)") MB/s; $(lat "$f/$p.out")" \
        ">= 2,000,000 rec/s" "$(meets "$(json_get "$f/$p.out" records_per_s)" ">=" 2000000)" \
        "$(ratio "$(json_get "$f/$p.out" mb_per_s)" "$loopback")" \
        "$(ratio "$(json_get "$f/$p.out" mb_per_s)" "$disk_fsync")" "$(cpu $p)"
    p="produce_1k_tuned"
    row $p "\`fjord perf produce\` 1 KiB, acks=all, tuned: $tuned_label" \
        "$(fmt_1 "$(json_get "$f/$p.out" mb_per_s)") MB/s, $(fmt_int "$(json_get "$f/$p.out" records_per_s)") rec/s; $(lat "$f/$p.out")" \
        ">= 600 MB/s" "$(meets "$(json_get "$f/$p.out" mb_per_s)" ">=" 600)" \
        "$(ratio "$(json_get "$f/$p.out" mb_per_s)" "$loopback")" \
        "$(ratio "$(json_get "$f/$p.out" mb_per_s)" "$disk_fsync")" "$(cpu $p)"
    if [ -n "$rdperf" ]; then
        r="$(rdk_rate "$f/rdk_produce_tuned.out" 'messages produced')"
        m="$(rdk_mbps "$f/rdk_produce_tuned.out" 'messages produced')"
        row rdk_produce_tuned "rdkafka_performance produce 100 B, acks=all, tuned: $tuned_label" \
            "$(fmt_int "$r") rec/s, $(fmt_1 "$m") MB/s" ">= 2,000,000 rec/s" \
            "$(meets "$r" ">=" 2000000)" "$(ratio "$m" "$loopback")" "$(ratio "$m" "$disk_fsync")" \
            "$(cpu rdk_produce_tuned)"
        r="$(rdk_rate "$f/rdk_produce_1k_tuned.out" 'messages produced')"
        m="$(rdk_mbps "$f/rdk_produce_1k_tuned.out" 'messages produced')"
        row rdk_produce_1k_tuned "rdkafka_performance produce 1 KiB, acks=all, tuned: $tuned_label" \
            "$(fmt_1 "$m") MB/s, $(fmt_int "$r") rec/s" ">= 600 MB/s" \
            "$(meets "$m" ">=" 600)" "$(ratio "$m" "$loopback")" "$(ratio "$m" "$disk_fsync")" \
            "$(cpu rdk_produce_1k_tuned)"
    fi
    row none "Broker peak RSS during the produce runs" \
        "$(mb "$produce_peak_kb") (VmHWM over the whole run: $(mb "$hwm_main_kb"))" "< 200 MB" \
        "$(meets "$peak_mb" "<" 200)" "" "" ""
    row consume_100b "\`fjord perf consume\` 100 B, librdkafka defaults" \
        "$(fmt_int "$c100_rate") rec/s, $(fmt_1 "$c100_mb") MB/s" ">= 2,500,000 rec/s" \
        "$(meets "$c100_rate" ">=" 2500000)" "$(ratio "$c100_mb" "$loopback")" "" "$(cpu consume_100b)"
    if [ -n "$rdperf" ]; then
        r="$(rdk_rate "$f/rdk_consume.out" 'consumed in')"
        m="$(rdk_mbps "$f/rdk_consume.out" 'consumed in')"
        row rdk_consume "rdkafka_performance consume 100 B, librdkafka defaults" \
            "$(fmt_int "$r") rec/s, $(fmt_1 "$m") MB/s" ">= 2,500,000 rec/s" \
            "$(meets "$r" ">=" 2500000)" "$(ratio "$m" "$loopback")" "" "$(cpu rdk_consume)"
    fi
    row e2e "\`fjord perf e2e\` $(fmt_int "$e2e_rate") rec/s, 100 B, linger.ms=0, ${e2e_seconds} s" \
        "p50 $e2e_p50 / p99 **$e2e_p99** / p99.9 $e2e_p999 / max $e2e_max ms; lost $e2e_lost; producer at most $(fmt_1 "$e2e_lag") ms behind schedule" \
        "p99 <= 3 ms" "$(meets "$e2e_p99" "<=" 3)" "" "" "$(cpu e2e)"
    for proto in classic consumer; do
        p="rebalance_$proto"
        row $p "\`fjord perf rebalance\` $proto protocol, 10 members, 100 partitions, $rebalance_rounds round(s)" \
            "all joined and settled: min $(json_get "$f/$p.out" join_min_ms) / median **$(json_get "$f/$p.out" join_median_ms)** / max $(json_get "$f/$p.out" join_max_ms) ms; one left, settled: min $(json_get "$f/$p.out" leave_min_ms) / median **$(json_get "$f/$p.out" leave_median_ms)** / max $(json_get "$f/$p.out" leave_max_ms) ms (its close(): median $(json_get "$f/$p.out" close_median_ms) ms)" \
            "" "" "" "" "$(cpu $p)"
    done
    p=commits
    row $p "\`fjord perf commits\` 10 partitions per commit, ${commit_seconds} s per phase" \
        "sync $(fmt_int "$(json_get "$f/$p.out" sync_commits_per_s)") commits/s, p50 $(json_get "$f/$p.out" sync_latency_p50_ms) / p99 $(json_get "$f/$p.out" sync_latency_p99_ms) / max $(json_get "$f/$p.out" sync_latency_max_ms) ms; async $(fmt_int "$(json_get "$f/$p.out" async_commits_per_s)") commits/s ($(fmt_int "$(json_get "$f/$p.out" async_partition_offsets_per_s)") partition offsets/s)" \
        "" "" "" "" "$(cpu $p)"
    row none "Broker RSS idle after the runs" "$(mb "$after_rss_kb")" "" "" "" "" ""
    row produce_fsync "\`fjord perf produce\` 100 B, acks=all, fsync before every ack (log.flush.interval.messages=1)" \
        "$(fmt_int "$pfs_rate") rec/s, $(fmt_1 "$pfs_mb") MB/s; $(lat "$f/produce_fsync.out")" "" "" \
        "$(ratio "$pfs_mb" "$loopback")" "$(ratio "$pfs_mb" "$disk_fsync")" "$(cpu produce_fsync)"
    p=e2e_fsync
    row $p "\`fjord perf e2e\` $(fmt_int "$e2e_fsync_rate") rec/s, 100 B, fsync before every ack, 128 KiB segments (a roll about every 4 s)" \
        "p50 $(json_get "$f/$p.out" latency_p50_ms) / p99 **$(json_get "$f/$p.out" latency_p99_ms)** / p99.9 $(json_get "$f/$p.out" latency_p999_ms) / max $(json_get "$f/$p.out" latency_max_ms) ms; lost $(json_get "$f/$p.out" records_lost)" \
        "" "" "" "" "$(cpu $p)"
} >"$table"
cat "$table"
say "table saved to $table; client outputs and broker logs in $work"
