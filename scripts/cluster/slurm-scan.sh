#!/usr/bin/env bash
# A sharded `neuralrg scan` as a Slurm job array: array task I runs shard I of SHARDS (the scan
# reads SLURM_ARRAY_TASK_ID), every task writing its points into one scan directory OUT on a
# shared file system; a job that depends on the array then runs `neuralrg scan merge OUT`,
# which writes OUT/scan.csv and the figures exactly as an unsharded scan would.
#
# Submit both from the repository root (after `npm ci`):
#   SHARDS=8 OUT=$PWD/runs/scan32 \
#   SCAN_ARGS="--L 32 --T 2.0:2.7:0.1 --depth 1..5 --epochs 3000" \
#     scripts/cluster/slurm-scan.sh submit
#
# Environment (with defaults):
#   SHARDS     number of shards = array tasks (4)
#   OUT        scan directory on a file system every node sees ($PWD/runs/scan)
#   SCAN_ARGS  options of `neuralrg scan` other than --out, --shard(s) and --jobs
#   NEURALRG   the command (node <repository>/bin/neuralrg.mjs)
#   SBATCH_ARGS extra sbatch options for both jobs, e.g. "--partition=cpu --account=myproj"
# Each task trains --jobs = SLURM_CPUS_PER_TASK points at once. Slurm's SIGTERM (sent 120 s
# before the time limit by --signal below) stops the running points after their current epoch
# with a checkpoint; submitting the same command again continues the scan: finished points are
# skipped, interrupted ones resume. One failed task can be re-run alone (sbatch --array=3 ...):
# the shard count comes from SHARDS (--shards), not from the size of that array.
#
#SBATCH --job-name=neuralrg-scan
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --signal=B:TERM@120
#SBATCH --output=slurm-%x-%A_%a.out
set -euo pipefail

SHARDS=${SHARDS:-4}
OUT=${OUT:-$PWD/runs/scan}
SCAN_ARGS=${SCAN_ARGS:-}
if [[ -z ${NEURALRG:-} ]]; then
  # under sbatch this script runs from a spool copy: find the repository from the submit directory
  REPO=${NEURALRG_REPO:-${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}}
  NEURALRG="node $REPO/bin/neuralrg.mjs"
fi

if [[ ${1:-} == submit ]]; then
  [[ $SHARDS =~ ^[1-9][0-9]*$ ]] || { echo "SHARDS = $SHARDS is invalid: it must be an integer >= 1" >&2; exit 2; }
  mkdir -p "$OUT"
  # the tasks inherit these through --export=ALL (not a --export list: SCAN_ARGS may hold commas)
  export SHARDS OUT SCAN_ARGS NEURALRG
  # shellcheck disable=SC2086
  array=$(sbatch --parsable ${SBATCH_ARGS:-} --export=ALL --array="0-$((SHARDS - 1))" "${BASH_SOURCE[0]}")
  array=${array%%;*}
  # shellcheck disable=SC2086
  merge=$(sbatch --parsable ${SBATCH_ARGS:-} --export=ALL --dependency="afterok:$array" --job-name=neuralrg-scan-merge \
    --cpus-per-task=1 --time=00:30:00 --output="slurm-%x-%j.out" --wrap "$NEURALRG scan merge '$OUT'")
  echo "submitted shard array $array (tasks 0-$((SHARDS - 1))) and merge job ${merge%%;*} (after all shards succeed)"
  echo "results: $OUT/scan.csv, $OUT/relerr-vs-T.svg|png, $OUT/samples.svg|png"
  exit 0
fi

if [[ -z ${SLURM_ARRAY_TASK_ID:-} ]]; then
  echo "run under sbatch --array=0-$((SHARDS - 1)) (SLURM_ARRAY_TASK_ID is not set), or: $0 submit" >&2
  exit 2
fi
# exec: node receives Slurm's SIGTERM itself and checkpoints before the time limit
# shellcheck disable=SC2086
exec $NEURALRG scan $SCAN_ARGS --out "$OUT" --shards "$SHARDS" --jobs "${SLURM_CPUS_PER_TASK:-1}" --progress plain
