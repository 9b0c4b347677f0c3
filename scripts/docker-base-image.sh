#!/usr/bin/env bash
# Builds, without any image registry, a local stand-in for the official Node.js image that
# docker/Dockerfile starts FROM (its `ARG BASE_IMAGE` default, e.g. node:20-bookworm-slim), and
# tags it with exactly that name. Elsewhere `docker build` pulls the real image; here no registry
# is reachable, so we assemble a minimal root filesystem from this machine:
#   - this machine's Node.js binary, npm and corepack, laid out as in the official image
#     (/usr/local/bin/node, /usr/local/lib/node_modules/{npm,corepack});
#   - the shared libraries node needs (from ldd) plus the rest of glibc's runtime libraries
#     (native binaries such as pnpm's need librt and friends);
#   - a static busybox for /bin/sh and the usual commands (RUN steps and `docker exec ... sh`);
#   - /etc/passwd and /etc/group with root and the non-root user `node` (uid/gid 1000, as in the
#     official image), /home/node, /tmp.
# The result is imported with `docker import` as one layer (vfs storage copies every layer in
# full, so one small layer is the fastest thing to build and to start).
#
# A real image of that name already present (no dlock label) is used as it is. Our own image is
# reused when it holds the same Node.js version, and rebuilt otherwise (or with DLOCK_BASE_REBUILD=1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=docker-lib.sh
. "$here/docker-lib.sh"

dockerfile="$repo/docker/Dockerfile"
default_tag="$(sed -n 's/^ARG BASE_IMAGE=\(.*\)$/\1/p' "$dockerfile" | head -n 1)"
[ -n "$default_tag" ] || die "no 'ARG BASE_IMAGE=<image>' default in $dockerfile"
tag="${1:-$default_tag}"
label=dev.dlock.local-base-image

node_bin="$(readlink -f "$(command -v node)")" || die "node is not installed"
node_version="$(node -p process.versions.node)"
tag_major="$(printf '%s' "$tag" | sed -n 's/^[^:]*:\([0-9][0-9]*\).*$/\1/p')"
if [ -n "$tag_major" ] && [ "$tag_major" != "${node_version%%.*}" ]; then
  die "$tag names Node.js $tag_major but this machine has Node.js $node_version: build with --build-arg BASE_IMAGE=<a Node.js ${node_version%%.*} image name> and pass that name here"
fi

previous_id=""
if docker image inspect "$tag" >/dev/null 2>&1; then
  previous_id="$(docker image inspect --format '{{.Id}}' "$tag")"
  ours="$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$tag" 2>/dev/null || true)"
  if [ "$ours" != 1 ]; then
    log "$tag is present and is not our local build (a pulled official image?): using it as it is"
    exit 0
  fi
  built_node="$(docker image inspect --format '{{ index .Config.Labels "dev.dlock.node-version" }}' "$tag")"
  if [ "$built_node" = "$node_version" ] && [ "${DLOCK_BASE_REBUILD:-0}" != 1 ]; then
    log "$tag is our local base image with Node.js $node_version already: reusing it"
    echo "timing: base_image_build_s=0 (reused)"
    exit 0
  fi
fi

busybox_bin="$(command -v busybox || true)"
if [ -z "$busybox_bin" ] || ldd "$busybox_bin" >/dev/null 2>&1; then
  # Missing, or dynamically linked (Debian's plain busybox): the static one needs no libraries.
  [ "$(id -u)" = 0 ] || die "busybox-static is missing and installing it needs root"
  log "installing Debian's busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends busybox-static >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends busybox-static >/dev/null; } ||
    die "could not install busybox-static"
  busybox_bin=/bin/busybox
fi

start="$(now_s)"
rootfs="$(mktemp -d /tmp/dlock-base-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
chmod 755 "$rootfs" # mktemp made it 0700: as /, it must be searchable by the non-root user
log "assembling the root filesystem for $tag in $rootfs (Node.js $node_version from $node_bin)"

mkdir -p "$rootfs"/{bin,etc,tmp,root,home/node,usr/local/bin,usr/local/lib/node_modules,usr/bin,usr/sbin,sbin}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"

# Node.js, npm and corepack where the official image has them.
install -m 755 "$node_bin" "$rootfs/usr/local/bin/node"
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.."
npm_dir="$(readlink -f "$npm_dir")"
global_modules="$(dirname "$npm_dir")"
for pkg in npm corepack; do
  [ -d "$global_modules/$pkg" ] && cp -a "$global_modules/$pkg" "$rootfs/usr/local/lib/node_modules/$pkg"
done
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
if [ -d "$rootfs/usr/local/lib/node_modules/corepack" ]; then
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
fi

# Shared libraries: what node links against, plus the rest of glibc's runtime libraries.
copy_lib() { [ -e "$1" ] && cp -L --parents "$1" "$rootfs"; }
libs="$(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')"
libc_path="$(printf '%s\n' "$libs" | grep '/libc\.so\.6$' | head -n 1)"
[ -n "$libc_path" ] || die "node does not link glibc (ldd found no libc.so.6): this script expects a glibc system"
libdir="$(dirname "$libc_path")"
for lib in $libs; do copy_lib "$lib"; done
for name in libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libutil.so.1 \
  libanl.so.1 libnss_files.so.2 libnss_dns.so.2 libstdc++.so.6 libgcc_s.so.1; do
  copy_lib "$libdir/$name" || true
done

# busybox: /bin/sh, /usr/bin/env and the usual commands, as links to one static binary.
install -m 755 "$busybox_bin" "$rootfs/bin/busybox"
"$busybox_bin" --list-full | while read -r applet; do
  [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || {
    mkdir -p "$rootfs/$(dirname "$applet")"
    ln -s /bin/busybox "$rootfs/$applet"
  }
done

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# This machine's CA bundle: the build stage fetches packages from the npm registry, and here the
# TLS connection may be re-signed by a local egress CA that only this bundle trusts. The official
# image needs none of this; it is part of the local stand-in only.
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
ca_env=()
if [ -f "$ca_bundle" ]; then
  mkdir -p "$rootfs/etc/ssl/certs"
  cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt')
fi
# Without root (a docker-group user), everything is packed as root-owned, /home/node included.
tar_owner=(--owner=0 --group=0)
if [ "$(id -u)" = 0 ]; then
  chown -R 0:0 "$rootfs"
  chown -R 1000:1000 "$rootfs/home/node"
  tar_owner=()
fi

tar --numeric-owner "${tar_owner[@]}" -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change "LABEL $label=1 dev.dlock.node-version=$node_version" \
    --change 'CMD ["node"]' \
    "${ca_env[@]}" \
    - "$tag" >/dev/null

# The rebuilt image replaces our previous one, which would otherwise linger untagged.
if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
  docker image rm "$previous_id" >/dev/null 2>&1 || true
fi

# The image must run what the Dockerfile runs in it: node, npm, and a shell.
docker run --rm "$tag" node -e 'process.exit(0)' || die "node does not start in $tag"
docker run --rm "$tag" sh -c 'npm --version >/dev/null' || die "npm does not run in $tag"
docker run --rm --user node "$tag" sh -c 'node --version >/dev/null && touch /tmp/x /home/node/x' ||
  die "the non-root user node cannot run node or write /tmp and its home in $tag"

size="$(docker image inspect --format '{{.Size}}' "$tag")"
log "built $tag ($((size / 1024 / 1024)) MiB, Node.js $node_version) in $(elapsed_s "$start") s"
echo "timing: base_image_build_s=$(elapsed_s "$start")"
echo "size: base_image_bytes=$size"
