#!/usr/bin/env bash
# Builds the fjord:dev image with this machine's Docker engine (Dockerfile: FROM scratch).
#
# The image holds the `fjord` binary (stripped), exactly the shared libraries `ldd` lists for
# it and the dynamic loader, at the paths the binary looks for them, and a passwd/group file
# for the non-root user 10001. Nothing is pulled.
#
# Which binary: IMAGE_PROFILE=debug (the default) builds what the test step builds anyway
# (`cargo test --workspace --all-targets --no-run`, whose target/debug/fjord is the binary the
# end-to-end tests run), so in CI the image costs no compile of its own: the tests step then
# finds everything built. The code is the same as a release build's, unoptimised (the
# dependencies are at opt-level 1; see [profile.dev] in Cargo.toml) and bigger.
# IMAGE_PROFILE=release builds `cargo build --release --bin fjord`: the small, fast image,
# at the price of a release build of every dependency (minutes on 2 cores when cold).
#
# IMAGE_BINARY=PATH uses that binary as it is and builds nothing.
# IMAGE_TAG (default fjord:dev) names the image. Without a Docker engine, says so and exits 0:
# the container tests say the same and skip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile="${IMAGE_PROFILE:-debug}"
tag="${IMAGE_TAG:-fjord:dev}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "build-image: no Docker engine answers here; $tag not built (the container tests skip)"
    exit 0
fi

if [ -n "${IMAGE_BINARY:-}" ]; then
    binary="$IMAGE_BINARY"
    profile="given"
else
    case "$profile" in
        debug) cargo test --workspace --all-targets --no-run ;;
        release) cargo build --release --bin fjord ;;
        *) echo "build-image: IMAGE_PROFILE must be debug or release, not '$profile'" >&2; exit 2 ;;
    esac
    binary="$target_dir/$profile/fjord"
fi

context="$target_dir/image-context"
rm -rf "$context"
mkdir -p "$context/rootfs/etc" "$context/data" "$context/tmp"
touch "$context/data/.keep" "$context/tmp/.keep"
chmod 1777 "$context/tmp"
strip --strip-all -o "$context/rootfs/fjord" "$binary"

# The libraries as ldd resolves them ("libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (...)")
# and the loader (an absolute path alone on its line); the vDSO is the kernel's.
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
if [ -z "$libraries" ]; then
    echo "build-image: ldd listed no libraries for $binary" >&2
    exit 1
fi
for library in $libraries; do
    mkdir -p "$context/rootfs$(dirname "$library")"
    cp -L "$library" "$context/rootfs$library"
done
# /lib64 and /lib are symlinks on merged-/usr systems; the loader path must exist as written.
printf 'root:x:0:0:root:/:/sbin/nologin\nfjord:x:10001:10001:fjord:/data:/sbin/nologin\n' \
    >"$context/rootfs/etc/passwd"
printf 'root:x:0:\nfjord:x:10001:\n' >"$context/rootfs/etc/group"

cp Dockerfile "$context/Dockerfile"
docker build --quiet -t "$tag" "$context" >/dev/null
# The image this one replaced is left untagged: remove those, so CI's disk does not fill up.
docker image prune -f --filter label=org.opencontainers.image.title=fjord >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "build-image: built $tag from the $profile binary ($((size / 1024 / 1024)) MiB): $(echo $libraries | tr '\n' ' ')"
