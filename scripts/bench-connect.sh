#!/usr/bin/env bash
# Benchmarks Fjord Connect against its baselines on one fresh broker, in one run (see
# BENCHMARKS.md, "Fjord Connect"). A benchmark, not a test: nothing fails on a number.
#
# Usage: scripts/bench-connect.sh [LINES] [ROUNDS] [-- extra `fjord perf connect` flags]
#        (defaults: 500000 3)
#
# Steps:
#   1. `cargo build --release --bin fjord`, copied to .cache/bench-connect/ so other builds
#      cannot swap it mid-run (FJORD_BENCH_NO_BUILD=1 reuses the copy there)
#   2. `fjord broker` on 127.0.0.1:0 with a data dir under .cache/bench-connect/
#   3. `fjord perf connect`: a file of LINES 100-byte lines into a topic by a raw rdkafka
#      producer and by a FileStreamSource connector, that topic into a file by a raw consumer
#      and by a FileStreamSink connector (alternating over ROUNDS rounds; medians and
#      ratios); then two `fjord connect distributed` workers with 20 connectors: add one,
#      time to RUNNING; SIGKILL a worker, time until its tasks run on the other
#   4. the machine: cores, load before and after, the broker's CPU time
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lines="${1:-500000}"
rounds="${2:-3}"
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
work=.cache/bench-connect
mkdir -p "$work"
if [ "${FJORD_BENCH_NO_BUILD:-}" != 1 ]; then
    cargo build --release --bin fjord
    cp "${CARGO_TARGET_DIR:-target}/release/fjord" "$work/fjord"
fi
rm -rf "$work/data"
"$work/fjord" broker --listen 127.0.0.1:0 --data-dir "$work/data" 2>"$work/broker.log" &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "address=" "$work/broker.log" && break
    sleep 0.1
done
bootstrap="$(grep -o 'address=[^ ]*' "$work/broker.log" | head -1 | cut -d= -f2)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "broker on $bootstrap; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/fjord" perf connect --bootstrap-server "$bootstrap" --lines "$lines" --rounds "$rounds" "$@"
ticks="$(getconf CLK_TCK)"
echo "broker CPU: $(awk -v t="$ticks" '{printf "%.1f s user, %.1f s system", $14/t, $15/t}' "/proc/$broker/stat")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
