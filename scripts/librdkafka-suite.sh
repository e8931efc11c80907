#!/usr/bin/env bash
# Runs librdkafka's own integration tests (the C/C++ test-runner shipped in the rdkafka-sys
# crate) against a Fjord broker, one test number at a time, and prints a pass/fail table.
#
# Usage: scripts/librdkafka-suite.sh [--quick] [--release] [TEST ...]
#   (no TEST)   run every test number in tests/librdkafka/allowlist.txt
#   --quick     run tests/librdkafka/quick.txt instead, with the runner's quick mode (-Q)
#               (a line "NNNN full" there runs that test without -Q: 0022's main sub-test is
#               not marked quick, so -Q would leave only its small non-existent-topic check)
#   --release   build and run the release broker instead of the debug one (see below)
#   --show-settings
#               print each selected test's broker settings (NNNN: -o KEY=VALUE ...) and exit,
#               without building or running anything
#   TEST ...    run these test numbers (e.g. 0001 12 0090), allowlisted or not; a listed
#               number keeps its list line's settings
#
# A list line is a test number, optionally "full", and optionally KEY=VALUE server.properties
# settings for that test's broker (e.g. Kafka's group.initial.rebalance.delay.ms=3000, which
# 0113 counts on). Every broker starts with group.initial.rebalance.delay.ms=0, the setting
# the allowlist was passed with (`fjord broker` now takes Kafka's default of 3000 otherwise);
# a list line's setting comes later and wins.
#
# Steps, each skipped when already done:
#   1. copy librdkafka from the rdkafka-sys crate sources into .cache/librdkafka-<version>/
#   2. apt-get install the C/C++ toolchain, libzstd-dev and rapidjson-dev when missing (needs
#      root or sudo)
#   3. ./configure, `make libs`, `make -C tests build` (about 3 minutes on 2 cores)
#   4. `cargo build --bin fjord` (debug; `--release` with --release)
#   5. per test: start a fresh broker on 127.0.0.1:0 with its own data dir, write the test
#      config, run `TESTS=NNNN ./test-runner -V 4.0.0 -L -p1`, stop the broker
#
# One broker per test keeps a broken test from failing the ones after it and gives each test
# its own broker log. Logs of the last run stay in .cache/librdkafka-suite/last/
# (NNNN.runner.log, NNNN.broker.log) for diagnosis.
#
# Why the debug broker by default: measured on 2 cores, the full allowlist took 504 s with the
# debug binary and 503 s with the release one, with the same results and per-test times within
# a second (0038 produces and consumes 1.3 million 100-byte messages: 9.1 s vs 10.1 s). The
# tests wait on the client side (linger, timeouts, rebalances), not on the broker, and the dev
# profile already builds dependencies at opt-level 1. The debug binary is usually up to date in
# the shared target dir (`cargo test` builds it); a release build costs 1-2 minutes after each
# broker change and over 10 minutes cold. FJORD_BIN=/path/to/fjord skips the cargo build.
#
# A test number passes when the runner exits 0, at least one of its entries says PASSED, none
# FAILED, and no PASSED entry took 0.000 s: under -Q, sub-tests not marked quick return at
# once, and a test built only of them "passes" without touching the broker. In --quick mode
# such a test is rerun without -Q; a 0.000 s pass is never counted.
#
# Environment:
#   FJORD_BIN            broker binary to use instead of building target/debug/fjord
#   FJORD_LOG            broker log filter (default: info)
#   SUITE_TEST_TIMEOUT   seconds before one test-runner invocation is killed (default: 900;
#                        0113 alone takes about 570)
#   SUITE_BROKER_PROPS   extra space-separated KEY=VALUE server.properties overrides
#   TEST_LEVEL           test-runner verbosity (default: 2)
#
# Exits 0 when every selected test passed, 1 when any failed, 2 on a setup error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rdkafka_sys="rdkafka-sys-4.10.0+2.12.1"
librdkafka_version="2.12.1"
src_dir="$root/.cache/librdkafka-$librdkafka_version"
tests_dir="$src_dir/tests"
list_dir="$root/tests/librdkafka"
logs_root="$root/.cache/librdkafka-suite"
configure_args=(--no-download --disable-ssl --disable-gssapi --disable-curl --disable-lz4-ext)
# rapidjson-dev is header-only and only used by the tests: with it, 0110 (and 0053) check the
# client's statistics JSON instead of skipping themselves.
apt_packages=(build-essential libzstd-dev zlib1g-dev rapidjson-dev)
# Written to .fjord-built after a build; a different value (new flags or packages) rebuilds.
build_id="${configure_args[*]} +rapidjson"
test_timeout="${SUITE_TEST_TIMEOUT:-900}"

die() {
    echo "librdkafka-suite.sh: error: $*" >&2
    exit 2
}

say() {
    echo "librdkafka-suite.sh: $*" >&2
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# --- arguments -------------------------------------------------------------------------------

quick=0
release=0
show_settings=0
selected=()
declare -A run_full=()   # test numbers that --quick runs without -Q
declare -A test_props=() # test number -> space-separated KEY=VALUE broker overrides from the list
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --release) release=1 ;;
        --show-settings) show_settings=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *)
            [[ "$1" =~ ^[0-9]{1,4}$ ]] || die "'$1' is not a test number like 0001"
            selected+=("$(printf '%04d' "$((10#$1))")")
            ;;
    esac
    shift
done

# The test list: its numbers run when none are given; its per-test settings ("full",
# KEY=VALUE) apply to a number given on the command line too, so `librdkafka-suite.sh 0118`
# runs 0118 against the same broker settings as the full run does.
list="$list_dir/allowlist.txt"
[ "$quick" = 1 ] && list="$list_dir/quick.txt"
listed=()
if [ -f "$list" ]; then
    # One test number a line, optionally followed by "full" and by KEY=VALUE broker settings
    # for that test's broker; '#' starts a comment.
    while read -r num rest; do
        [[ "$num" =~ ^[0-9]{4}$ ]] || die "$list: '$num' is not a test number like 0001"
        listed+=("$num")
        for word in $rest; do
            case "$word" in
                full) run_full[$num]=1 ;;
                *=*) test_props[$num]="${test_props[$num]:-} $word" ;;
                *) die "$list: '$word' after $num is neither 'full' nor KEY=VALUE" ;;
            esac
        done
    done < <(sed -e 's/#.*//' "$list" | awk 'NF')
fi
if [ ${#selected[@]} -eq 0 ]; then
    [ -f "$list" ] || die "missing test list $list"
    [ ${#listed[@]} -gt 0 ] || die "no test numbers in $list"
    selected=("${listed[@]}")
fi

# set_broker_props NUM: sets the array broker_props to the -o settings of test NUM's broker, in
# order (a later setting of a key wins): the suite's defaults, SUITE_BROKER_PROPS, the list's.
set_broker_props() {
    broker_props=(-o num.partitions=4 -o auto.create.topics.enable=true
        -o group.initial.rebalance.delay.ms=0)
    local p
    for p in ${SUITE_BROKER_PROPS:-} ${test_props[$1]:-}; do
        broker_props+=(-o "$p")
    done
}

if [ "$show_settings" = 1 ]; then
    for num in "${selected[@]}"; do
        set_broker_props "$num"
        echo "$num: ${broker_props[*]}"
    done
    exit 0
fi

# --- 1. librdkafka sources -------------------------------------------------------------------

find_crate_sources() {
    local cargo_home="${CARGO_HOME:-$HOME/.cargo}" dir
    for dir in "$cargo_home"/registry/src/*/"$rdkafka_sys"/librdkafka; do
        if [ -f "$dir/configure" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

copy_sources() {
    [ -f "$src_dir/.fjord-copied" ] && return 0
    local from
    if ! from="$(find_crate_sources)"; then
        say "fetching crate sources (cargo fetch) to find $rdkafka_sys"
        (cd "$root" && cargo fetch --quiet) || die "cargo fetch failed"
        from="$(find_crate_sources)" || die "$rdkafka_sys not found under ~/.cargo/registry/src"
    fi
    say "copying $from -> $src_dir"
    rm -rf "$src_dir.tmp"
    mkdir -p "$(dirname "$src_dir")"
    cp -a "$from" "$src_dir.tmp"
    rm -rf "$src_dir"
    mv "$src_dir.tmp" "$src_dir"
    touch "$src_dir/.fjord-copied"
}

# --- 2. build dependencies -------------------------------------------------------------------

install_build_deps() {
    local missing=() pkg
    for pkg in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || die "missing packages ${missing[*]}; install them as root"
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# --- 3. librdkafka libs and test-runner ------------------------------------------------------

build_test_runner() {
    local stamp="$src_dir/.fjord-built"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$build_id" ] &&
        [ -x "$tests_dir/test-runner" ]; then
        return 0
    fi
    local jobs
    jobs="$(nproc 2>/dev/null || echo 2)"
    say "building librdkafka $librdkafka_version and its test-runner (a few minutes)"
    (
        cd "$src_dir"
        ./configure "${configure_args[@]}" >"$src_dir/.fjord-configure.log" 2>&1 ||
            { tail -30 "$src_dir/.fjord-configure.log" >&2; exit 1; }
        make -j"$jobs" libs >"$src_dir/.fjord-make-libs.log" 2>&1 ||
            { tail -30 "$src_dir/.fjord-make-libs.log" >&2; exit 1; }
        make -j"$jobs" -C tests build >"$src_dir/.fjord-make-tests.log" 2>&1 ||
            { tail -30 "$src_dir/.fjord-make-tests.log" >&2; exit 1; }
    ) || die "building librdkafka failed (logs: $src_dir/.fjord-*.log)"
    echo "$build_id" >"$stamp"
}

# --- 4. the broker ---------------------------------------------------------------------------

build_broker() {
    if [ -n "${FJORD_BIN:-}" ]; then
        [ -x "$FJORD_BIN" ] || die "FJORD_BIN=$FJORD_BIN is not an executable"
        fjord_bin="$FJORD_BIN"
        return 0
    fi
    local build=(cargo build --bin fjord) profile=debug
    if [ "$release" = 1 ]; then
        build=(cargo build --release --bin fjord)
        profile=release
    fi
    say "${build[*]}"
    (cd "$root" && "${build[@]}") || die "${build[*]} failed"
    fjord_bin="${CARGO_TARGET_DIR:-$root/target}/$profile/fjord"
    [ -x "$fjord_bin" ] || die "no broker binary at $fjord_bin"
}

broker_pid=""
runner_pid=""
work_dir=""

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
    if [ -n "$runner_pid" ]; then
        kill "$runner_pid" 2>/dev/null || true
        wait "$runner_pid" 2>/dev/null || true
    fi
    stop_broker
    if [ -n "$work_dir" ]; then
        rm -rf "$work_dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a broker with a fresh data dir and the settings for test $2, logging to $1; sets
# broker_addr to its HOST:PORT.
start_broker() {
    local log="$1" data props=()
    data="$(mktemp -d "$work_dir/data.XXXXXX")"
    set_broker_props "$2"
    props=("${broker_props[@]}")
    # The command line first, so the log shows which settings the test's broker had.
    echo "+ fjord broker --listen 127.0.0.1:0 --data-dir $data ${props[*]}" >"$log"
    NO_COLOR=1 FJORD_LOG="${FJORD_LOG:-info}" RUST_LOG="${FJORD_LOG:-info}" \
        "$fjord_bin" broker --listen 127.0.0.1:0 --data-dir "$data" "${props[@]}" \
        >>"$log" 2>&1 &
    broker_pid=$!
    broker_addr=""
    local i
    for i in $(seq 1 300); do
        broker_addr="$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" |
            grep -o -m1 -E 'address=[^ ,]+' | head -n1 | cut -d= -f2 || true)"
        [ -n "$broker_addr" ] && return 0
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$log" >&2
    stop_broker
    return 1
}

# --- 5. running one test ---------------------------------------------------------------------

strip_ansi() {
    sed -e 's/\x1b\[[0-9;]*m//g'
}

# Runs test number $1 (with extra runner args $2...) and sets: status (PASSED, FAILED,
# TIMEOUT, EMPTY, SKIPPED, NOT-RUN, NO-BROKER), seconds, detail.
run_one() {
    local num="$1" log="$logs_dir/$num.runner.log" blog="$logs_dir/$num.broker.log"
    shift
    status="FAILED"
    seconds="-"
    detail=""
    if ! start_broker "$blog" "$num"; then
        status="NO-BROKER"
        detail="broker did not start (see $blog)"
        return
    fi
    local conf="$work_dir/test.conf"
    printf 'bootstrap.servers=%s\ntest.topic.random=true\n' "$broker_addr" >"$conf"
    local rc=0 started ended
    started="$(date +%s)"
    (
        cd "$tests_dir"
        exec env LD_LIBRARY_PATH="../src:../src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
            RDKAFKA_TEST_CONF="$conf" TESTS="$num" TEST_LEVEL="${TEST_LEVEL:-2}" \
            timeout --kill-after=15 "$test_timeout" ./test-runner -V 4.0.0 -L -p1 "$@"
    ) >"$log" 2>&1 &
    runner_pid=$!
    wait "$runner_pid" || rc=$?
    runner_pid=""
    # A killed runner leaves its per-test stats file behind; keep it with the logs.
    find "$tests_dir" -maxdepth 1 -name "stats_${num}_*.json" -exec mv -t "$logs_dir" {} + 2>/dev/null || true
    ended="$(date +%s)"
    seconds="$((ended - started))"
    local broker_alive=1
    kill -0 "$broker_pid" 2>/dev/null || broker_alive=0
    stop_broker

    # The summary table: "| 0001_multiobj    |     PASSED |   1.234s |".
    local table passed failed zero skipped
    table="$(strip_ansi <"$log" | grep -E "^\| *${num}_[^ ]* +\| +[A-Z_]+ +\| +[0-9.]+s" || true)"
    passed="$(grep -c -E '\| +PASSED +\|' <<<"$table" || true)"
    failed="$(grep -c -E '\| +(FAILED|RUNNING) +\|' <<<"$table" || true)"
    zero="$(grep -c -E '\| +PASSED +\| +0\.000s' <<<"$table" || true)"
    skipped="$(grep -c -E '\| +SKIPPED +\|' <<<"$table" || true)"
    detail="$(strip_ansi <"$log" | grep -A1 -m1 -E '^### Test ' | tr '\n' ' ' |
        sed -e 's/###//g' -e 's/  */ /g' -e 's/^ //' | cut -c1-300 || true)"

    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        status="TIMEOUT"
        [ -n "$detail" ] || detail="killed after ${test_timeout}s"
    elif [ "$failed" -gt 0 ] || [ "$rc" != 0 ]; then
        status="FAILED"
        [ -n "$detail" ] || detail="test-runner exited with status $rc"
    elif [ "$zero" -gt 0 ]; then
        status="EMPTY"
        detail="PASSED in 0.000 s: nothing ran (quick mode skips non-quick sub-tests)"
    elif [ "$passed" -gt 0 ]; then
        status="PASSED"
    elif [ "$skipped" -gt 0 ]; then
        status="SKIPPED"
        detail="$(strip_ansi <"$log" | grep -m1 -E '\| +SKIPPED +\|' | sed -e 's/.*s *|//' | cut -c1-200)"
    else
        status="NOT-RUN"
        detail="no test matched $num under -L (local/mock-only test?)"
    fi
    if [ "$broker_alive" = 0 ]; then
        status="FAILED"
        detail="broker died during the test (see $blog); $detail"
    fi
}

# --- main ------------------------------------------------------------------------------------

# Engineers share the checkout: one setup at a time, so two first runs do not build over
# each other in .cache/.
mkdir -p "$root/.cache"
exec 9>"$root/.cache/librdkafka-suite.lock"
flock 9
copy_sources
install_build_deps
build_test_runner
flock -u 9
build_broker

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/fjord-librdkafka.XXXXXX")"
logs_dir="$logs_root/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs_dir"
# Keep the logs of the last 10 runs.
find "$logs_root" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort | head -n -10 | xargs -r rm -rf
ln -sfn "$(basename "$logs_dir")" "$logs_root/last"
# A private copy: other engineers' builds may replace the binary in target/ mid-run.
cp "$fjord_bin" "$work_dir/fjord"
say "broker: $fjord_bin; logs: $logs_dir"
fjord_bin="$work_dir/fjord"

results=()
n_pass=0
n_fail=0
suite_started="$(date +%s)"
for num in "${selected[@]}"; do
    extra=()
    if [ "$quick" = 1 ] && [ -z "${run_full[$num]:-}" ]; then
        extra=(-Q)
    fi
    say "running $num${extra[*]:+ ${extra[*]}}"
    run_one "$num" "${extra[@]}"
    if [ "$quick" = 1 ] && [ "$status" = EMPTY ]; then
        say "$num did nothing under -Q; running it in full"
        run_one "$num"
    fi
    if [ "$status" = PASSED ]; then
        n_pass=$((n_pass + 1))
    else
        n_fail=$((n_fail + 1))
    fi
    results+=("$(printf '%-6s %-10s %6ss  %s' "$num" "$status" "$seconds" "$detail")")
    say "$num $status (${seconds}s) $detail"
done
suite_seconds=$(($(date +%s) - suite_started))

echo
printf '%-6s %-10s %7s  %s\n' "TEST" "RESULT" "TIME" "DETAIL"
printf '%s\n' "${results[@]}"
echo
echo "total time ${suite_seconds}s; logs in $logs_dir"
echo "$n_pass passed, $n_fail failed"
[ "$n_fail" -eq 0 ]
