#!/usr/bin/env bash
# The project's one test command: what the README tells developers to run and what CI runs.
# Prepares the Python client venv (tests/python_clients.rs needs it), then runs every test
# target of the workspace and the doc tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

scripts/python-env.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
