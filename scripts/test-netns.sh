#!/usr/bin/env bash
# `pnpm test:netns` (and the last step of `pnpm test`): the production deployment of
# docs/production.md on three hosts, as three network namespaces on this machine.
#   1. three namespaces dlock-<suffix>-n1..n3 (the hosts), each with one address in a random free
#      10.x.y.0/24, and a fourth, dlock-<suffix>-net, holding the bridge between them (a switch:
#      bridged traffic crosses that namespace's empty firewall, not this machine's, which Docker
#      may have set to drop forwarded packets); the root namespace is on the bridge as x.y.254,
#      the application and monitoring host;
#   2. scripts/test-netns.mjs: the guide's commands (certificates and tokens, the firewall, each
#      node started from deploy/systemd/dlock.env as deploy/systemd/dlock.service runs it, the
#      client commands), then locks from the root namespace, kill -9 of the leader's host,
#      failover, restart, and the checks that every acknowledged lock survived;
#   3. always (trap, also on failure or Ctrl-C): kill -9 every process left in those namespaces
#      (only this run's: the names carry its random suffix), delete the namespaces (their links
#      go with them), remove the temporary folder, and check that nothing is left.
# Needs root (namespaces, links). Like scripts/docker-setup.sh, it installs what is missing with
# apt-get when it runs as root (iproute2, iptables, curl) and stops with exit 1 and what to do
# when it is not root; it never skips.
# DLOCK_NETNS_KEEP=1 keeps the temporary folder (certificates, data, logs) for a look afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

log() { printf '[%s] netns: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$(id -u)" = 0 ] ||
  die "needs root to create network namespaces and links (ip netns add): run it as root, e.g. sudo bash scripts/test-netns.sh (CI runs it as root through .ci/run)"
# The commands the guide and this script use, and the Debian packages that have them.
missing=()
for pair in ip=iproute2 iptables=iptables curl=curl; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q -o DPkg::Lock::Timeout=300 \
    --no-install-recommends "${missing[@]}"; } >&2 ||
    die "apt-get could not install ${missing[*]}: install them and run this again"
fi
[ -f packages/cli/dist/bin.js ] && [ -f packages/client/dist/index.js ] ||
  die "packages/*/dist is missing: run the build first (npx -y pnpm@12.4.2 run build; pnpm test does)"

suffix="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
prefix="dlock-$suffix"
hosts=("$prefix-n1" "$prefix-n2" "$prefix-n3")
switch="$prefix-net"
made_namespaces=()
workdir=""

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  for ns in "${made_namespaces[@]}"; do
    # Every process in this run's namespaces is one this run started (servers, shells).
    local pids
    pids="$(ip netns pids "$ns" 2>/dev/null)"
    if [ -n "$pids" ]; then
      log "kill -9 what is left in $ns: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -9 $pids 2>/dev/null
    fi
  done
  for ns in "${made_namespaces[@]}"; do
    # A namespace whose last process is still exiting can refuse deletion for a moment.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      ip netns del "$ns" 2>/dev/null && break
      [ -e "/run/netns/$ns" ] || break
      sleep 0.5
    done
  done
  # The root end of the link to the switch goes with the switch's namespace; this is in case
  # the namespace was never made.
  ip link del "dlk$suffix-r" 2>/dev/null
  local left
  left="$(ip netns list | grep -F "$prefix" || true)$(ip -o link show | grep -F "dlk$suffix" || true)"
  if [ -n "$left" ]; then
    log "ERROR: teardown left: $left"
    [ "$rc" = 0 ] && rc=1
  fi
  if [ -n "$workdir" ]; then
    if [ "${DLOCK_NETNS_KEEP:-0}" = 1 ]; then log "kept $workdir"; else rm -rf "$workdir"; fi
  fi
  if [ "$rc" = 0 ]; then log "netns test passed"; else log "netns test FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A /24 no address or route of this machine is in (a route other than the default one).
subnet=""
for _ in $(seq 1 50); do
  candidate="10.$((64 + RANDOM % 190)).$((RANDOM % 256))"
  if ! ip -4 -o addr show | grep -qF " $candidate." &&
    ! ip -4 route show match "$candidate.1" | grep -qv '^default'; then
    subnet="$candidate"
    break
  fi
done
[ -n "$subnet" ] || die "found no free 10.x.y.0/24 in 50 tries"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/dlock-netns.XXXXXX")"
log "namespaces $prefix-{n1,n2,n3,net}, hosts $subnet.1-3/24, this namespace $subnet.254, files in $workdir"

made_namespaces+=("$switch")
ip netns add "$switch"
ip -n "$switch" link set lo up
ip -n "$switch" link add br0 type bridge
ip -n "$switch" link set br0 up
for i in 1 2 3; do
  ns="${hosts[$((i - 1))]}"
  made_namespaces+=("$ns")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # Made in the switch's namespace with its other end straight in the host's: the only link of
  # this run in the root namespace is the uplink below.
  ip -n "$switch" link add "port$i" type veth peer name eth0 netns "$ns"
  ip -n "$switch" link set "port$i" master br0 up
  ip -n "$ns" addr add "$subnet.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done
ip link add "dlk$suffix-r" type veth peer name uplink netns "$switch"
ip -n "$switch" link set uplink master br0 up
ip addr add "$subnet.254/24" dev "dlk$suffix-r"
ip link set "dlk$suffix-r" up

DLOCK_NETNS_HOSTS="n1=${hosts[0]}=$subnet.1,n2=${hosts[1]}=$subnet.2,n3=${hosts[2]}=$subnet.3" \
  DLOCK_NETNS_SUBNET="$subnet" DLOCK_NETNS_DIR="$workdir" node "$here/test-netns.mjs"
