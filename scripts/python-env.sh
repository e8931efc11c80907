#!/usr/bin/env bash
# Creates (or checks) the Python virtualenvs the Python client tests use: unmodified Kafka
# clients from PyPI, pinned, so the tests run real user code against Fjord.
#   .venv/      today's clients (tests/python_clients.rs, tests/python_groups.rs)
#   .venv-old/  older releases still pinned by many users (tests/old_clients.rs)
# Usage: scripts/python-env.sh [current|old|all]   (default: current)
# Idempotent: a venv that already has its pinned versions is left alone.
# Needs only python3 with the venv module (Debian: python3-venv) and network access to PyPI.
# Exits non-zero, saying why, when a venv cannot be made; the tests then fail rather than skip.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}" # the interpreter the venvs are made from; override with $PYTHON
which="${1:-current}"

# The pins, as `name==version`; the check below reads the same lists.
requirements_current=(
    "kafka-python==3.0.12"
    "confluent-kafka==2.16.1"
    # confluent-kafka's SchemaRegistryClient and AvroSerializer (tests/registry_python.rs)
    "fastavro==1.13.1"
    "httpx==0.28.1"
    "attrs==26.1.0"
    "cachetools==8.0.2"
    "authlib==1.9.10"
)
# kafka-python 2.0.2 is still the most pinned release; confluent-kafka 2.3 bundles
# librdkafka 2.3 (both have cp311 wheels or are pure Python).
requirements_old=(
    "kafka-python==2.0.2"
    "confluent-kafka==2.3.0"
)

die() {
    echo "python-env.sh: error: $*" >&2
    exit 1
}

# True when the venv's python runs and every pinned distribution is installed at its version.
# Uses the globals $venv and $requirements set by make_venv.
venv_ok() {
    [ -x "$venv/bin/python" ] || return 1
    "$venv/bin/python" - "${requirements[@]}" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version, PackageNotFoundError
for req in sys.argv[1:]:
    name, want = req.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

make_venv() {
    venv="$1"
    shift
    requirements=("$@")
    if venv_ok; then
        return 0
    fi

    command -v "$python" >/dev/null 2>&1 || die "'$python' not found; install Python 3 (Debian: apt-get install python3 python3-venv)"

    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "python-env.sh: creating virtualenv at $venv" >&2
        rm -rf "$venv"
        if ! "$python" -m venv "$venv"; then
            # Debian's python3 lacks ensurepip unless python3-venv is installed; a venv without
            # its own pip still works, filled by the system pip below.
            echo "python-env.sh: '$python -m venv' failed; retrying without pip in the venv" >&2
            rm -rf "$venv"
            "$python" -m venv --without-pip "$venv" \
                || die "'$python -m venv $venv' failed; install the venv module (Debian: apt-get install python3-venv)"
        fi
    fi

    # Prefer the venv's own pip; otherwise drive the system pip at the venv (pip >= 22.3).
    if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        pip=("$venv/bin/python" -m pip)
    elif "$python" -m pip --version >/dev/null 2>&1; then
        pip=("$python" -m pip --python "$venv/bin/python")
    else
        die "no pip: neither $venv nor '$python' has one (Debian: apt-get install python3-pip python3-venv)"
    fi

    echo "python-env.sh: installing ${requirements[*]}" >&2
    "${pip[@]}" install --quiet --disable-pip-version-check "${requirements[@]}" \
        || die "pip install ${requirements[*]} into $venv failed (is PyPI reachable?)"

    venv_ok || die "after pip install, $venv still lacks ${requirements[*]}"
    # Importing proves the compiled parts (librdkafka inside confluent-kafka) load on this machine.
    "$venv/bin/python" -c 'import kafka, confluent_kafka' \
        || die "the clients installed but do not import in $venv"
    echo "python-env.sh: ready: $venv" >&2
}

# Several test processes (or engineers) may call this at once; serialise on a lock file so
# only one of them builds the venv and the others see the finished one.
if command -v flock >/dev/null 2>&1; then
    mkdir -p "$root/.cache"
    exec 9>"$root/.cache/python-env.lock"
    flock 9
fi

case "$which" in
    current) make_venv "$root/.venv" "${requirements_current[@]}" ;;
    old) make_venv "$root/.venv-old" "${requirements_old[@]}" ;;
    all)
        make_venv "$root/.venv" "${requirements_current[@]}"
        make_venv "$root/.venv-old" "${requirements_old[@]}"
        ;;
    *) die "unknown argument '$which'; use current, old or all" ;;
esac
