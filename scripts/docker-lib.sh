# Shared helpers for scripts/docker-*.sh and scripts/test-docker.sh (sourced, not run).
# Everything these scripts start or create is recorded under DLOCK_DOCKER_STATE, so that the
# matching teardown stops exactly that and nothing it did not start.

DLOCK_DOCKER_STATE="${DLOCK_DOCKER_STATE:-/tmp/dlock-docker}"
# How long dockerd may take to answer `docker info` after it was started.
DOCKERD_START_TIMEOUT_S="${DOCKERD_START_TIMEOUT_S:-120}"
# How long dockerd may take to exit after SIGTERM (it stops its containers and containerd first).
DOCKERD_STOP_TIMEOUT_S="${DOCKERD_STOP_TIMEOUT_S:-60}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# Seconds since the epoch with millisecond precision, for the timings the scripts print.
now_s() { date +%s.%N | cut -c1-14; }
elapsed_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

docker_answers() { docker info >/dev/null 2>&1; }

# Prints the compose command to use: the v2 plugin (`docker compose`) when the docker client has it,
# else the standalone `docker-compose` (Debian's package is v1.29). Both read docker/compose.yaml.
compose_cmd() {
  if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then
    echo "docker-compose"
  else
    return 1
  fi
}
