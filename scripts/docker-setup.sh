#!/usr/bin/env bash
# Makes a Docker engine and a compose command available, as CI needs them on a fresh machine:
#   - installs Debian's docker.io and docker-compose with apt-get when they are missing;
#   - starts dockerd (root, vfs storage: works without overlayfs, e.g. inside a VM or container)
#     in the background, with its log and pid file under $DLOCK_DOCKER_STATE, unless an engine
#     already answers.
# scripts/docker-teardown.sh stops dockerd only if this script started it.
# Prints the timings of what it did. Idempotent: a second run finds everything in place.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=docker-lib.sh
. "$here/docker-lib.sh"

mkdir -p "$DLOCK_DOCKER_STATE"

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (run as root, or start a Docker engine yourself first)"
}

install_packages() {
  local packages=("$@")
  need_root "installing ${packages[*]}"
  local start
  start="$(now_s)"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start the daemon with the distribution's defaults: we start it
  # ourselves below with the options this machine needs. policy-rc.d exit 101 = "do not start".
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
  fi
  log "apt-get update"
  apt-get update -q >"$DLOCK_DOCKER_STATE/apt.log" 2>&1 || {
    cat "$DLOCK_DOCKER_STATE/apt.log" >&2
    die "apt-get update failed"
  }
  log "apt-get install ${packages[*]}"
  apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends "${packages[@]}" >>"$DLOCK_DOCKER_STATE/apt.log" 2>&1 || {
    tail -n 40 "$DLOCK_DOCKER_STATE/apt.log" >&2
    [ "$made_policy" = 1 ] && rm -f "$policy"
    die "apt-get install ${packages[*]} failed (log: $DLOCK_DOCKER_STATE/apt.log)"
  }
  [ "$made_policy" = 1 ] && rm -f "$policy"
  log "installed ${packages[*]} in $(elapsed_s "$start") s"
  echo "timing: install_packages_s=$(elapsed_s "$start")"
}

start_dockerd() {
  need_root "starting dockerd"
  local start pidfile="$DLOCK_DOCKER_STATE/dockerd.pid" logfile="$DLOCK_DOCKER_STATE/dockerd.log"
  start="$(now_s)"
  log "starting dockerd (vfs storage), log: $logfile"
  # setsid: dockerd must not share our process group, so a Ctrl-C in the calling terminal does
  # not kill it half-way; the teardown stops it by its pid. Its own pid file is written by dockerd.
  rm -f "$pidfile"
  setsid dockerd --storage-driver=vfs --pidfile "$pidfile" >"$logfile" 2>&1 </dev/null &
  local deadline=$((SECONDS + DOCKERD_START_TIMEOUT_S)) pid=""
  until docker_answers; do
    # dockerd writes its pid file early; once it has, a dead pid means it gave up.
    if [ -z "$pid" ] && [ -s "$pidfile" ]; then
      pid="$(cat "$pidfile")"
      # Recorded at once, so the teardown stops it even if it never answers.
      echo "$pid" >"$DLOCK_DOCKER_STATE/dockerd.started-by-setup"
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$logfile" >&2
      die "dockerd exited during start-up (log: $logfile)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 40 "$logfile" >&2
      die "dockerd did not answer within ${DOCKERD_START_TIMEOUT_S}s (log: $logfile)"
    fi
    sleep 0.5
  done
  local launched
  launched="$(cat "$pidfile")"
  # The teardown stops this pid, and only if it is still a dockerd.
  echo "$launched" >"$DLOCK_DOCKER_STATE/dockerd.started-by-setup"
  log "dockerd (pid $launched) answers after $(elapsed_s "$start") s"
  echo "timing: start_dockerd_s=$(elapsed_s "$start")"
}

missing=()
# An engine that already answers (say, Docker Desktop or a remote DOCKER_HOST) needs no dockerd here.
if ! docker_answers; then
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
fi
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
compose_cmd >/dev/null || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
  # shellcheck disable=SC2207 # deduplicate the package names
  missing=($(printf '%s\n' "${missing[@]}" | sort -u))
  install_packages "${missing[@]}"
else
  log "docker, dockerd and a compose command are installed"
fi

marker="$DLOCK_DOCKER_STATE/dockerd.started-by-setup"
if docker_answers; then
  if [ -f "$marker" ] && kill -0 "$(cat "$marker")" 2>/dev/null; then
    log "the dockerd an earlier docker-setup.sh started answers (docker-teardown.sh stops it)"
  else
    log "a Docker engine already answers: using it (not started here, teardown leaves it alone)"
  fi
else
  start_dockerd
fi

log "docker client $(docker version --format '{{.Client.Version}}' 2>/dev/null), engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), compose: $(compose_cmd) $($(compose_cmd) version --short 2>/dev/null || true)"
