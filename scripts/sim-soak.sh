#!/usr/bin/env bash
# scripts/sim-soak.sh [RUNS]: runs the lock schedule tests exactly as CI does (the
# lock-schedules-*.test.ts shares: ≥ 2,000 generated schedules over every lock profile, on 3 and
# 5 nodes, with their hard-case and undecided-key bounds) RUNS times in a row, each from a new
# random SIM_SEED. Prints each seed and its outcome as it goes, then a summary; the output of a
# failing run is kept in .sim-failures/soak-<seed>.log. Replay a run with
#   SIM_SEED=<seed> npx vitest run packages/testkit/test/lock/lock-schedules-
# RUNS (default 20) may also come from SIM_SOAK_RUNS; SIM_SOAK_WORKERS caps vitest's workers
# (default 1, the machine is shared). CPU is shared: run it niced, e.g. `nice -n 10 scripts/...`.
# Exits 1 if any run failed, 2 on bad usage.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs="${1:-${SIM_SOAK_RUNS:-20}}"
workers="${SIM_SOAK_WORKERS:-1}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ && "$workers" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/sim-soak.sh [RUNS]   (RUNS and SIM_SOAK_WORKERS are positive integers)" >&2
  exit 2
fi
cd "$repo"
mkdir -p .sim-failures
failed=()
started=$SECONDS
for ((run = 1; run <= runs; run++)); do
  # 30 random bits, like scheduleSeed's own choice when SIM_SEED is unset.
  seed=$(($(od -An -N4 -tu4 /dev/urandom) & 0x3fffffff))
  echo "run $run/$runs: SIM_SEED=$seed"
  log="$(mktemp)"
  runStarted=$SECONDS
  if SIM_SEED="$seed" npx vitest run --maxWorkers="$workers" \
    packages/testkit/test/lock/lock-schedules- >"$log" 2>&1; then
    echo "run $run/$runs: SIM_SEED=$seed passed in $((SECONDS - runStarted)) s"
    rm -f "$log"
  else
    kept=".sim-failures/soak-$seed.log"
    mv "$log" "$kept"
    failed+=("$seed")
    echo "run $run/$runs: SIM_SEED=$seed FAILED in $((SECONDS - runStarted)) s (output: $kept)"
    grep -E "VIOLATION|replay:|AssertionError" "$kept" | head -n 6 | sed 's/^/    /' || true
  fi
done
echo "soak: $runs runs in $((SECONDS - started)) s, ${#failed[@]} failed${failed:+: SIM_SEED ${failed[*]}}"
[[ ${#failed[@]} -eq 0 ]]
