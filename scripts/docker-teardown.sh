#!/usr/bin/env bash
# Stops the dockerd that scripts/docker-setup.sh started, and nothing else: an engine that was
# already running before the setup is left alone. Installed packages stay installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=docker-lib.sh
. "$here/docker-lib.sh"

marker="$DLOCK_DOCKER_STATE/dockerd.started-by-setup"
if [ ! -f "$marker" ]; then
  log "no dockerd started by docker-setup.sh: nothing to stop"
  exit 0
fi
pid="$(cat "$marker")"
if ! kill -0 "$pid" 2>/dev/null; then
  log "dockerd (pid $pid) is no longer running"
  rm -f "$marker"
  exit 0
fi
# Only signal the pid if it still is the dockerd we started (pids are reused).
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  log "pid $pid is no longer dockerd: not touching it"
  rm -f "$marker"
  exit 0
fi
start="$(now_s)"
log "stopping dockerd (pid $pid)"
kill -TERM "$pid"
deadline=$((SECONDS + DOCKERD_STOP_TIMEOUT_S))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "dockerd did not exit within ${DOCKERD_STOP_TIMEOUT_S}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.5
done
rm -f "$marker"
log "dockerd stopped after $(elapsed_s "$start") s"
