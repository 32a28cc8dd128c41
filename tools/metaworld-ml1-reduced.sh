#!/usr/bin/env bash
# Meta-World ML1 at a reduced scale (docs/reproducing.md, "The reduced-scale Table 1 comparison"):
# collect PPO histories for the 50 train and the first 10 test variations of TASK, then train AD, DICP-AD, IDT and
# DICP-IDT with a 200-step context and evaluate each on the 50 test variations, with and without planning.
#
#   tools/metaworld-ml1-reduced.sh TASK          (reach, push, pick-place, ...)
#
# Environment: DICP (the dicp command, default: dicp on PATH), RUNS (default ~/dicp-runs/metaworld), STREAMS (8),
# STEPS_PER_STREAM (5000), EPISODES (20), MODELS ("dicp-ad ad dicp-idt idt"), DICP_METAWORLD_ASSETS (required).
# Each step is skipped when its output exists, and dicp train resumes from its checkpoint, so rerunning continues.
# Every command, its wall and CPU time and the load average go to $RUNS/runs.log and $RUNS/times.log.
set -euo pipefail
TASK=${1:?usage: tools/metaworld-ml1-reduced.sh TASK}
CONFIGS=$(cd "$(dirname "$0")/../configs" && pwd)
DICP=${DICP:-dicp}; RUNS=${RUNS:-$HOME/dicp-runs/metaworld}
STREAMS=${STREAMS:-8}; STEPS_PER_STREAM=${STEPS_PER_STREAM:-5000}; EPISODES=${EPISODES:-20}
MODELS=${MODELS:-"dicp-ad ad dicp-idt idt"}
: "${DICP_METAWORLD_ASSETS:?set DICP_METAWORLD_ASSETS to the Meta-World assets_v2 folder}"
export DICP_METAWORLD_ASSETS
mkdir -p "$RUNS"
log() { echo "$(date -u +%FT%TZ) $* load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RUNS/runs.log"; }
timed() {
  local name=$1; shift; log "start $name: $*"
  local rc=0; /usr/bin/time -f "$name wall=%e user=%U sys=%S maxrss_kb=%M" -a -o "$RUNS/times.log" "$@" || rc=$?
  log "end $name rc=$rc"; return $rc
}
D=$RUNS/$TASK
timed collect-$TASK "$DICP" collect --env metaworld-ml1-$TASK --out "$D" --streams "$STREAMS" --steps-per-stream "$STEPS_PER_STREAM" --parallel 2 -q
common=(--set data.environment=metaworld-ml1-$TASK --set data.streams=$STREAMS --set data.steps_per_stream=$STEPS_PER_STREAM
        --set model.n_transit=200 --set training.log_interval=50 --set training.eval_interval=250
        --set training.checkpoint_interval=250 --set training.test_windows=256)
for m in $MODELS; do
  out=$D/runs/$m
  case $m in
    *ad)  extra=(--steps 1500 --set training.batch_size=32 --set model.embedding_dim=32 --set model.heads=4 --set model.inner=128) ;;
    *idt) extra=(--steps 1000 --set training.batch_size=16) ;;
    *) echo "unknown model '$m' in MODELS" >&2; exit 2 ;;
  esac
  [ -f "$out/model.safetensors" ] || timed train-$TASK-$m "$DICP" train --config "$CONFIGS/$m-metaworld-ml1.yaml" --data "$D" --out "$out" "${common[@]}" "${extra[@]}" -q
  [ -f "$out/none.json" ] || timed eval-$TASK-$m-none "$DICP" evaluate --run "$out" --planner none --episodes "$EPISODES" --out "$out/none.json" -q
  case $m in dicp-*) [ -f "$out/sampling.json" ] || timed eval-$TASK-$m-sampling "$DICP" evaluate --run "$out" --planner sampling --episodes "$EPISODES" --out "$out/sampling.json" -q ;; esac
done
