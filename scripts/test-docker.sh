#!/usr/bin/env bash
# `pnpm test:docker`: proves docker/Dockerfile and docker/compose.yaml on this machine, from a
# clean one as CI has it.
#   1. scripts/docker-setup.sh: Docker engine and compose (installs and starts what is missing);
#   2. scripts/docker-base-image.sh: the base image, built locally (no registry reachable here);
#   3. docker build of the real docker/Dockerfile, then scripts/test-docker.image.mjs in the image
#      (non-root, writable data volume, LevelDB and msgpackr native addons load);
#   4. compose up of the real docker/compose.yaml (its `certs` service first: CA, certificates,
#      auth file, tokens), waiting until all three nodes are healthy; then the CA and the admin's
#      and worker's tokens are copied out of the `certs` volume, as docker/README.md shows;
#   5. scripts/test-docker.peer.mjs in a container on the compose network: the peer ports refuse
#      plain TCP and TLS without a node certificate;
#      scripts/test-docker.mjs: over TLS with tokens, locks from the host through the published
#      ports, refusals (plain TCP, no token, outside the grant), failover of the leader (stopped,
#      then killed), rejoin, Docker's restart policy, the client's status call; then the CLI's
#      `dlock status --json` with --tls-ca and the admin's token, if the CLI has that command;
#      last, a second `compose up` keeps the CA, the certificates and the tokens;
#   6. always (trap, also on failure or Ctrl-C): compose down -v, remove the images it built,
#      stop the dockerd that step 1 started.
# Prints the timings of each step, the image size, and the client checks' "N passed, N failed".
# DLOCK_DOCKER_KEEP=1 keeps the images and the engine running (for iterating on this script).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=docker-lib.sh
. "$here/docker-lib.sh"
cd "$repo"

IMAGE="${DLOCK_TEST_IMAGE:-dlock:test}"
PROJECT="${DLOCK_TEST_PROJECT:-dlock-test}"
# Three nodes on 2 shared cores with vfs storage: starting and electing can take a while.
HEALTHY_DEADLINE_S="${DLOCK_TEST_HEALTHY_DEADLINE_S:-240}"
# Restarts of one node before it is healthy that mean it crash-loops.
CRASH_LOOP_RESTARTS=3
PORTS=(7001 7002 7003 7201 7202 7203)
SERVICES=(n1 n2 n3)

compose=()
project_up=0
made_check_volume=0
built_base=0
secrets_dir=""
timings=()
record() { timings+=("$1"); }

dump_logs() {
  [ "$project_up" = 1 ] || return 0
  log "container states:"
  "${compose[@]}" ps >&2 || true
  log "last log lines of each node:"
  "${compose[@]}" logs --no-color --tail=60 >&2 || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ "$rc" != 0 ]; then dump_logs; fi
  if [ "$project_up" = 1 ]; then
    log "compose down -v (containers, network, volumes)"
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || log "compose down failed"
  fi
  if [ "$made_check_volume" = 1 ]; then docker volume rm -f "$check_volume" >/dev/null 2>&1; fi
  if [ -n "$secrets_dir" ]; then rm -rf "$secrets_dir"; fi
  if [ "${DLOCK_DOCKER_KEEP:-0}" != 1 ] && docker_answers; then
    docker image rm "$IMAGE" >/dev/null 2>&1
    # The classic builder keeps the build stage's images: they carry this label.
    docker image prune -f --filter label=dev.dlock.stage=build >/dev/null 2>&1
    if [ "$built_base" = 1 ]; then docker image rm "$base_image" >/dev/null 2>&1; fi
  fi
  if [ "${DLOCK_DOCKER_KEEP:-0}" != 1 ]; then "$here/docker-teardown.sh"; fi
  log "timings: ${timings[*]}"
  if [ "$rc" = 0 ]; then log "docker test passed"; else log "docker test FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f packages/client/dist/index.js ] ||
  die "packages/client/dist is missing: run the build first (pnpm test:docker does)"

for port in "${PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is already in use: the compose cluster publishes ports ${PORTS[*]}"
  fi
done

# 1. Engine and compose.
t="$(now_s)"
"$here/docker-setup.sh"
record "docker_setup_s=$(elapsed_s "$t")"
read -r -a compose <<<"$(compose_cmd)"
compose+=(-p "$PROJECT" -f docker/compose.yaml)
"${compose[@]}" config -q || die "docker/compose.yaml does not validate"
log "docker/compose.yaml validates with: $(compose_cmd)"

# 2. Base image (a local stand-in for the official Node.js image the Dockerfile names).
base_image="$(sed -n 's/^ARG BASE_IMAGE=\(.*\)$/\1/p' docker/Dockerfile | head -n 1)"
# The local stand-in carries this machine's Node.js: when its major version is not the one the
# default image names, build on the same image name for this machine's major version instead.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
default_major="$(printf '%s' "$base_image" | sed -n 's/^node:\([0-9][0-9]*\).*$/\1/p')"
if [ -n "$default_major" ] && [ "$default_major" != "$node_major" ]; then
  base_image="node:${node_major}${base_image#node:"$default_major"}"
  log "this machine has Node.js $node_major: building on $base_image"
fi
had_base=0
docker image inspect "$base_image" >/dev/null 2>&1 && had_base=1
t="$(now_s)"
"$here/docker-base-image.sh" "$base_image"
record "base_image_s=$(elapsed_s "$t")"
[ "$had_base" = 0 ] && built_base=1

# 3. The real Dockerfile. --network host: the build stage reaches the npm registry through the
# host's network (no NAT from the bridge needed); --force-rm: no containers left by a failed step.
t="$(now_s)"
log "docker build -f docker/Dockerfile -t $IMAGE ."
build_log="$DLOCK_DOCKER_STATE/build.log"
if ! docker build --network host --force-rm --build-arg "BASE_IMAGE=$base_image" \
  -f docker/Dockerfile -t "$IMAGE" . >"$build_log" 2>&1; then
  tail -n 60 "$build_log" >&2
  die "docker build failed (log: $build_log)"
fi
record "image_build_s=$(elapsed_s "$t")"
image_bytes="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
log "built $IMAGE: $((image_bytes / 1024 / 1024)) MiB"
record "image_mib=$((image_bytes / 1024 / 1024))"

# 3b. The image on its own: non-root, writable /data volume, native addons load.
check_volume="$PROJECT-image-check"
docker volume create "$check_volume" >/dev/null
made_check_volume=1
docker run -i --rm -v "$check_volume:/data" --entrypoint node "$IMAGE" --input-type=module - \
  <"$here/test-docker.image.mjs" || die "the image checks failed"
docker volume rm "$check_volume" >/dev/null
made_check_volume=0

# 4. The cluster.
t="$(now_s)"
log "compose up -d (project $PROJECT)"
project_up=1
DLOCK_IMAGE="$IMAGE" "${compose[@]}" up -d --no-build
certs_container="$("${compose[@]}" ps -q certs)"
[ -n "$certs_container" ] || die "no container for the certs service"
containers=""
for service in "${SERVICES[@]}"; do
  id="$("${compose[@]}" ps -q "$service")"
  [ -n "$id" ] || die "no container for service $service"
  containers+="$service=$id "
done
deadline=$((SECONDS + HEALTHY_DEADLINE_S))
next_progress=$((SECONDS + 10))
while true; do
  states=""
  healthy=0
  for pair in $containers; do
    read -r state restarts <<<"$(docker inspect --format '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}} {{.RestartCount}}' "${pair#*=}")"
    states+="${pair%%=*}:$state "
    [ "${state#*/}" = healthy ] && healthy=$((healthy + 1))
    # Start order does not matter, so a node must not exit while its peers come up: a node that
    # keeps exiting is broken (image, configuration or server), not slow.
    if [ "$restarts" -ge "$CRASH_LOOP_RESTARTS" ]; then
      die "${pair%%=*} exited and was restarted $restarts times before it became healthy"
    fi
  done
  [ "$healthy" = "${#SERVICES[@]}" ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then die "not all nodes healthy within ${HEALTHY_DEADLINE_S}s: $states"; fi
  if [ "$SECONDS" -ge "$next_progress" ]; then
    log "  ... waiting for health: $states"
    next_progress=$((SECONDS + 10))
  fi
  sleep 1
done
record "start_to_healthy_s=$(elapsed_s "$t")"
log "all nodes healthy after $(elapsed_s "$t") s"
log "certs service: $(docker logs "$certs_container" 2>&1 | tr '\n' ' ')"

# The compose project's own names for the certs volume and the network (Compose v1 and v2 name
# them alike, but the labels say it for sure).
certs_volume="$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" \
  --filter label=com.docker.compose.volume=certs)"
network="$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" \
  --filter label=com.docker.compose.network=dlock)"
[ -n "$certs_volume" ] && [ -n "$network" ] || die "no certs volume or dlock network in project $PROJECT"

# The CA and the tokens, fetched the way docker/README.md tells an operator to.
secrets_dir="$(mktemp -d "${TMPDIR:-/tmp}/dlock-docker-secrets.XXXXXX")"
from_certs() { docker run --rm -v "$certs_volume:/certs:ro" --entrypoint cat "$IMAGE" "/certs/$1"; }
from_certs ca.pem >"$secrets_dir/ca.pem"
(umask 077 && from_certs admin.token >"$secrets_dir/admin.token" && from_certs worker.token >"$secrets_dir/worker.token")
for file in ca.pem admin.token worker.token; do
  [ -s "$secrets_dir/$file" ] || die "$file is empty in the certs volume"
done
fingerprint() {
  docker run --rm -v "$certs_volume:/certs:ro" --entrypoint sh "$IMAGE" -c \
    'cd /certs && sha256sum ca.pem ca-key.pem n1.pem n2.pem n3.pem auth admin.token worker.token'
}
fingerprints_before="$(fingerprint)"

# 5a. The peer ports, from inside the compose network (they are not published).
t="$(now_s)"
docker run -i --rm --network "$network" -v "$certs_volume:/certs:ro" \
  -e DLOCK_TEST_PEERS=n1=n1:7101,n2=n2:7101,n3=n3:7101 -e DLOCK_TEST_CLUSTER_ID=dlock-docker \
  --entrypoint node "$IMAGE" --input-type=module - <"$here/test-docker.peer.mjs" ||
  die "a peer port let in a dialler without a node certificate (or could not be reached)"
record "peer_checks_s=$(elapsed_s "$t")"

# 5. Clients from the host, then the CLI.
t="$(now_s)"
DLOCK_TEST_CONTAINERS="$containers" DLOCK_TEST_TLS_CA="$secrets_dir/ca.pem" \
  DLOCK_TEST_ADMIN_TOKEN_FILE="$secrets_dir/admin.token" \
  DLOCK_TEST_WORKER_TOKEN_FILE="$secrets_dir/worker.token" node "$here/test-docker.mjs"
record "client_checks_s=$(elapsed_s "$t")"

# The CLI's `dlock status --json`, when this build of the CLI has the command (the client commands
# come with their own issue; the client library's status call above checks the same answer).
cli_help="$(node packages/cli/dist/bin.js --help)" || die "dlock --help failed"
if printf '%s\n' "$cli_help" | grep -q '^  status '; then
  log "dlock status --json through the published ports"
  status_json="$(node packages/cli/dist/bin.js status --endpoints 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 --cluster-id dlock-docker \
    --tls-ca "$secrets_dir/ca.pem" --auth-token-file "$secrets_dir/admin.token" --json)" ||
    die "dlock status failed (exit $?)"
  printf '%s\n' "$status_json"
  verdict="$(printf '%s' "$status_json" | node -e '
    const status = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const members = status.members ?? [];
    if (!status.leader) throw new Error("status names no leader");
    if (members.length !== 3) throw new Error(`status lists ${members.length} members, expected 3`);
    const unhealthy = members.filter((m) => m.healthy !== true).map((m) => m.id);
    if (unhealthy.length > 0) throw new Error(`members not healthy: ${unhealthy}`);
    console.log(`leader ${status.leader}, ${members.length} healthy members`);
  ' 2>&1)" || die "dlock status --json: $(printf '%s' "$verdict" | grep -m1 "Error")"
  log "ok   dlock status --json: $verdict"
else
  log "skip dlock status --json: this CLI has no status command yet"
fi

# 6. A second `up` runs the certs service again: it must keep the CA, the certificates, the auth
# file and the tokens (and the running nodes), and exit 0.
log "compose up -d again: the certs service must keep everything"
certs_started_before="$(docker inspect --format '{{.State.StartedAt}}' "$certs_container")"
DLOCK_IMAGE="$IMAGE" "${compose[@]}" up -d --no-build
# Compose may start the same container again or make a new one: look it up again.
certs_container="$("${compose[@]}" ps -q certs)"
deadline=$((SECONDS + HEALTHY_DEADLINE_S))
while [ "$(docker inspect --format '{{.State.Status}}' "$certs_container")" != exited ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "the certs service did not finish within ${HEALTHY_DEADLINE_S}s"
  sleep 1
done
read -r certs_exit certs_started <<<"$(docker inspect --format '{{.State.ExitCode}} {{.State.StartedAt}}' "$certs_container")"
[ "$certs_started" != "$certs_started_before" ] || die "the second up did not run the certs service again"
[ "$certs_exit" = 0 ] || die "the certs service exited $certs_exit on the second up"
log "certs service, second run: $(docker logs --since "$certs_started" "$certs_container" 2>&1 | tr '\n' ' ')"
[ "$(fingerprint)" = "$fingerprints_before" ] ||
  die "the second up changed the CA, a certificate, the auth file or a token"
for pair in $containers; do
  [ "$("${compose[@]}" ps -q "${pair%%=*}")" = "${pair#*=}" ] ||
    die "the second up replaced ${pair%%=*}'s container"
done
log "ok   a second up kept the CA, the certificates, the auth file, the tokens and the nodes"
