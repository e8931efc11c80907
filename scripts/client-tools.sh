#!/usr/bin/env bash
# Installs the command-line Kafka clients the end-to-end tests run against Fjord, from the
# machine's own packages: today Debian's `kcat` (built on Debian's librdkafka, 2.0.2 on
# bookworm: an older client than the one rdkafka bundles, which is the point).
# Idempotent: does nothing when every tool is already on PATH. Installing needs root (or
# sudo) and apt; without them it exits non-zero saying what to install, and
# tests/old_clients.rs then fails rather than skips.
# Usage: scripts/client-tools.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(kcat) # Debian package names; each installs a command of the same name

die() {
    echo "client-tools.sh: error: $*" >&2
    exit 1
}

missing=()
for p in "${packages[@]}"; do
    command -v "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Test processes running in parallel may all find kcat missing; let one of them install it.
mkdir -p "$root/.cache"
exec 9>"$root/.cache/client-tools.lock"
command -v flock >/dev/null 2>&1 && flock 9
missing=()
for p in "${packages[@]}"; do
    command -v "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command -v apt-get >/dev/null 2>&1 \
    || die "${missing[*]} not found and there is no apt-get here; install ${missing[*]} with this system's package manager"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    die "${missing[*]} not found; installing needs root: sudo apt-get install -y ${missing[*]}"
fi

echo "client-tools.sh: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may be empty or stale; update once before installing.
"${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed (are Debian's package mirrors reachable?)"
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install ${missing[*]} failed"
for p in "${missing[@]}"; do
    command -v "$p" >/dev/null 2>&1 || die "$p installed but is not on PATH"
done
echo "client-tools.sh: ready: $(kcat -V 2>&1 | grep -m1 Version)" >&2
