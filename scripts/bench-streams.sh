#!/usr/bin/env bash
# Benchmarks Fjord Streams against its baselines on one fresh broker, in one run (see
# BENCHMARKS.md, "Fjord Streams"). A benchmark, not a test: nothing fails on a number.
#
# Usage: scripts/bench-streams.sh [RECORDS] [ROUNDS]     (defaults: 200000 3)
#
# Steps:
#   1. `cargo build --release --bin fjord`, copied to .cache/bench-streams/ so other builds
#      cannot swap it mid-run
#   2. a venv .venv-bench with Quix Streams from PyPI (`quixstreams`), created once
#   3. `fjord broker` on 127.0.0.1:0 with a data dir under .cache/bench-streams/
#   4. `fjord perf streams`: the sales -> prices transform on 100-byte JSON records by a
#      hand-written rdkafka loop (the baseline), a Fjord Streams app, and the same transform
#      in Quix Streams (scripts/bench/quix_prices.py), alternating over ROUNDS rounds;
#      medians and ratios, plus the machine's load before and after
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
records="${1:-200000}"
rounds="${2:-3}"
work=.cache/bench-streams
mkdir -p "$work"
cargo build --release --bin fjord
cp "${CARGO_TARGET_DIR:-target}/release/fjord" "$work/fjord"
if [ ! -x .venv-bench/bin/python ]; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --disable-pip-version-check quixstreams
fi
.venv-bench/bin/python -c 'import quixstreams; print("quixstreams", quixstreams.__version__)'
rm -rf "$work/data"
"$work/fjord" broker --listen 127.0.0.1:0 --data-dir "$work/data" 2>"$work/broker.log" &
broker=$!
trap 'kill $broker 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q "address=" "$work/broker.log" && break
    sleep 0.1
done
bootstrap="$(grep -o 'address=[^ ]*' "$work/broker.log" | head -1 | cut -d= -f2)"
echo "broker on $bootstrap; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/fjord" perf streams --bootstrap-server "$bootstrap" --records "$records" --rounds "$rounds" \
    --quix-python .venv-bench/bin/python
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
