#!/usr/bin/env bash
# Makes a local base image (Debian bookworm + this host's Node.js 20) where no image
# registry is reachable: debootstrap from Debian's mirror, then `podman import`.
# Usage: deploy/container/base-image.sh [TAG]   (default localhost/fedcausal-base:bookworm-node20)
set -euo pipefail
tag="${1:-localhost/fedcausal-base:bookworm-node20}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
node_bin="$(command -v node)"
case "$("$node_bin" --version)" in v20.*) ;; *) echo "base-image.sh: this host's node is not 20.x" >&2; exit 1 ;; esac
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
# npm from this host's Node installation (the same release as the binary).
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
tar -C "$root" -c . | podman import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$tag" >/dev/null
echo "$tag"
