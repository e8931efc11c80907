#!/usr/bin/env bash
# The project's one test command: what the README tells developers to run and what CI runs.
#
# Steps, in order; every step runs even when an earlier one fails, so one run shows every
# failure, and the exit status is then non-zero:
#   fmt          cargo fmt --all --check
#   clippy       cargo clippy --workspace --all-targets -- -D warnings
#   fuzz-check   cargo check of the cargo-fuzz targets (fuzz/, its own workspace). Checking needs
#                no nightly: only running them does (sanitizer flags), and libfuzzer-sys builds on
#                stable.
#   python-env   the Python client venvs (scripts/python-env.sh all: today's clients for
#                tests/python_*.rs, kafka-python 2.0.2 and confluent-kafka 2.3 for
#                tests/old_clients.rs); when it fails, those tests fail too, and the report says why
#   client-tools Debian's kcat for tests/old_clients.rs (scripts/client-tools.sh)
#   postgres     PostgreSQL's server binaries for tests/connect_postgres_*.rs (scripts/postgres.sh)
#   image        the fjord:dev container image for tests/container.rs (scripts/build-image.sh:
#                it compiles the test targets, whose debug `fjord` binary goes in the image, so
#                the tests step compiles nothing more; no Docker engine: says so, exits 0)
#   tests        every test target of the workspace (unit and end-to-end)
#   doc-tests    the doc tests
#   demo         the README's main command, `cargo run --example sales_prices`: built first, then run
#                under a deadline (DEMO_TIMEOUT, default 60 s) with its output checked, so a demo
#                that hangs on exit (it did, 5 runs of 5, in both profiles), or stops printing
#                what the README shows, fails. The debug build by default (DEMO_PROFILE=release
#                for the README's exact `--release`): it reuses what the tests step built, where
#                a cold release build of every dependency would add minutes to the 30 the
#                whole run has on a fresh 2-core clone; the code run is the same.
#   librdkafka   the quick subset of librdkafka's own test suite against a Fjord broker
#                (scripts/librdkafka-suite.sh --quick; tests/librdkafka/quick.txt)
# Each step prints how long it took; a table of all of them closes the run.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
demo_timeout="${DEMO_TIMEOUT:-60}"
demo_profile="${DEMO_PROFILE:-debug}"

names=()
results=()
seconds=()

# Runs one named step (the rest of the arguments), recording its status and duration.
step() {
    local name="$1" start status
    shift
    echo "=== step $name: $*"
    start=$(date +%s)
    "$@"
    status=$?
    names+=("$name")
    seconds+=("$(($(date +%s) - start))")
    if [ "$status" -eq 0 ]; then
        results+=(ok)
    else
        results+=("FAILED ($status)")
    fi
    echo "=== step $name: ${results[-1]} in ${seconds[-1]} s"
}

# The demo's output, line by line as the README shows it; then its exit within the deadline.
demo() {
    local profile_flag=()
    [ "$demo_profile" = release ] && profile_flag=(--release)
    cargo build "${profile_flag[@]}" --example sales_prices || return 1
    local out status
    out="$(timeout --kill-after=5 "$demo_timeout" "$target_dir/$demo_profile/examples/sales_prices" 2>&1)"
    status=$?
    printf '%s\n' "$out"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "demo: did not exit within ${demo_timeout} s" >&2
        return 1
    fi
    [ "$status" -eq 0 ] || { echo "demo: exited with $status" >&2; return 1; }
    local expected=(
        "^embedded broker ready on 127\.0\.0\.1:[0-9]+ in "
        "^streams app 'sales-prices' running with tasks \[\"0_0\", "
        "^produced 24 sales to 'sales'$"
        "^price: [a-z]+ x[0-9]+ at [0-9]+\.[0-9]{2} -> [0-9]+\.[0-9]{2}$"
        "^revenue: apples [0-9]+\.[0-9]{2}$"
        "^sales per minute: [a-z]+ \[09:00:00, 09:01:00\) [0-9]+$"
        "^outputs match the expected prices, revenue and windows$"
        "^done in "
    )
    local pattern missing=0
    for pattern in "${expected[@]}"; do
        if ! grep -Eq "$pattern" <<<"$out"; then
            echo "demo: no line matching /$pattern/" >&2
            missing=1
        fi
    done
    return "$missing"
}

step fmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
# The fuzz workspace shares the target dir, so it reuses what clippy checked.
step fuzz-check cargo check --manifest-path fuzz/Cargo.toml --bins --target-dir "$target_dir"
step python-env scripts/python-env.sh all
step client-tools scripts/client-tools.sh
step postgres scripts/postgres.sh
step image scripts/build-image.sh
step tests cargo test --workspace --all-targets --no-fail-fast
step doc-tests cargo test --workspace --doc --no-fail-fast
step demo demo
step librdkafka scripts/librdkafka-suite.sh --quick

echo
echo "step          result        seconds"
passed=0
failed=0
total=0
for i in "${!names[@]}"; do
    printf '%-13s %-13s %7s\n' "${names[$i]}" "${results[$i]}" "${seconds[$i]}"
    total=$((total + seconds[i]))
    if [ "${results[$i]}" = ok ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
printf '%-13s %-13s %7s\n' total "" "$total"
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
