#!/usr/bin/env bash
# The project's one test command: what the README tells developers to run and what CI runs.
# Prepares the Python client venv (tests/python_clients.rs needs it), then runs every test
# target of the workspace, the doc tests, and the quick subset of librdkafka's own test suite
# against a Fjord broker (scripts/librdkafka-suite.sh --quick; tests/librdkafka/quick.txt). Every test binary and the doc tests run even when
# an earlier one fails, so one run shows every failure; the exit status is then non-zero.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/python-env.sh
status=0
cargo test --workspace --all-targets --no-fail-fast || status=$?
cargo test --workspace --doc --no-fail-fast || status=$?
scripts/librdkafka-suite.sh --quick || status=$?
exit "$status"
