#!/usr/bin/env bash
# Darkroom at the paper's scale (issue 16; docs/reproducing.md, "Darkroom at the paper's scale"): the shipped reference
# configurations unchanged (configs/MODEL-darkroom.yaml: 50 000 steps, batch 512), the full collection (81 goals ×
# 100 PPO streams × 1 000 steps), then the reference's evaluation: every test goal, one stream, 50 episodes without
# planning and 100 with the config's planner (beam K 10, L 5, horizon 8 for the dicp-* models).
#
#   tools/darkroom-paper-scale.sh [MODEL ...]          (default: dicp-ad ad; also dpt dicp-dpt idt dicp-idt)
#   tools/darkroom-paper-scale.sh all                  (issue 16's queue, in order: dicp-ad ad; dicp-dpt dpt; dicp-ad ad
#                                                       on split seeds 1-4; dicp-idt idt, the costliest, last; a
#                                                       model the checkout ships in models/ is not trained again
#                                                       unless its run folder exists)
#
# Environment: DICP (the dicp command; default dicp on PATH), EVAL_DICP (the dicp command of the evaluations; default
# DICP: evaluate with a build of main so that the shipped results reproduce on a fresh clone), CONFIGS (default the checkout's configs/), RUNS
# (default ~/dicp-runs), SPLIT (train/test split
# seed, default 0; runs of other splits go to runs/MODEL-darkroom-splitN, their collection, the same histories, to
# data/darkroom-splitN), THREADS (worker threads per process,
# default 1; the engine splits work by rows and fixed chunks, never by thread count, so the results and a resume are
# bit-identical for any THREADS), PARALLEL (train the models at the same time, default 1 = yes), NICE (default 19).
# Every step is skipped when its output exists and dicp train resumes from its last checkpoint (every 1 000 steps),
# so rerunning the same command continues an interrupted run. Commands, wall and CPU times and the load average go to
# $RUNS/runs.log and $RUNS/times.log. On a new machine, where $RUNS is gone, `tools/carry-runs.sh restore` first brings
# back the unfinished runs that an earlier session carried in the checkout (results/carry); this script then recollects
# the histories (bit-exactly) and resumes them.
# The body is one compound command, read whole before it runs: editing or checking out the file while a run is going
# (hours) cannot change what the running script does next.
{
set -euo pipefail
if [ "${1:-}" = all ]; then
  [ $# = 1 ] || { echo "'all' takes no other argument" >&2; exit 2; }
  self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0"); shipped=$(cd "$(dirname "$0")/../models" 2>/dev/null && pwd || true)
  # Runs out of the queue whose model the checkout already ships (models/NAME) are left out: on a new machine, where
  # $RUNS is gone, 'all' goes on with what is missing instead of training the shipped models again.
  queue() {
    local s=$1 m todo=(); shift
    for m in "$@"; do
      local name=$m-darkroom; [ "$s" = 0 ] || name+=-split$s
      if [ -n "$shipped" ] && [ -f "$shipped/$name/model.safetensors" ] && [ ! -d "${RUNS:-$HOME/dicp-runs}/runs/$name" ]; then
        echo "all: $name is shipped (models/$name), skipped" >&2
      else todo+=("$m"); fi
    done
    [ ${#todo[@]} = 0 ] || SPLIT=$s "$self" "${todo[@]}"
  }
  queue 0 dicp-ad ad
  queue 0 dicp-dpt dpt
  for s in 1 2 3 4; do queue "$s" dicp-ad ad; done
  queue 0 dicp-idt idt
  exit 0
fi
CONFIGS=${CONFIGS:-$(cd "$(dirname "$0")/../configs" && pwd)}
DICP=${DICP:-dicp}; EVAL_DICP=${EVAL_DICP:-$DICP}; RUNS=${RUNS:-$HOME/dicp-runs}; SPLIT=${SPLIT:-0}; PARALLEL=${PARALLEL:-1}; NICE=${NICE:-19}
export DOTNET_PROCESSOR_COUNT=${THREADS:-1}
MODELS=("$@"); [ ${#MODELS[@]} -gt 0 ] || MODELS=(dicp-ad ad)
for m in "${MODELS[@]}"; do
  [ -f "$CONFIGS/$m-darkroom.yaml" ] || { echo "unknown model '$m': no configs/$m-darkroom.yaml" >&2; exit 2; }
done
mkdir -p "$RUNS/runs"; cd "$RUNS"
log() { echo "$(date -u +%FT%TZ) $* load=$(cut -d' ' -f1-3 /proc/loadavg)" >> runs.log; }
timed() {
  local name=$1; shift; log "start $name: $*"
  local rc=0; /usr/bin/time -f "$name wall=%e user=%U sys=%S maxrss_kb=%M" -a -o times.log nice -n "$NICE" "$@" || rc=$?
  log "end $name rc=$rc"; return $rc
}
suffix=; [ "$SPLIT" = 0 ] || suffix=-split$SPLIT
# The collections are made under an exclusive lock ($RUNS/collect.lock): a second invocation started meanwhile (another
# split, another model) waits for the first one's collection and then finds it made, instead of collecting the same
# folder at the same time.
exec 9> collect.lock; flock 9
[ -f data/darkroom/manifest.json ] || timed collect-darkroom "$DICP" collect --env darkroom --out data/darkroom -q
# Another split seed holds out other goals of the same histories: its collection (data/darkroom-splitN) takes split
# 0's task files (`--histories-from`: checked, hard-linked, copied where links fail) and writes only its manifest (seconds).
data=data/darkroom$suffix
[ -f "$data/manifest.json" ] || timed collect-darkroom$suffix "$DICP" collect --env darkroom --out "$data" --split-seed "$SPLIT" \
    --histories-from data/darkroom -q
flock -u 9; exec 9>&-
train() {
  local out=runs/$1-darkroom$suffix
  [ -f "$out/model.safetensors" ] || timed train-$1$suffix "$DICP" train --config "$CONFIGS/$1-darkroom.yaml" --data "$data" \
      --out "$out" --set data.split_seed="$SPLIT" -q
}
evaluate() {
  local out=runs/$1-darkroom$suffix planner=$2 episodes=$3
  [ -f "$out/$planner.json" ] || timed eval-$1$suffix-$planner "$EVAL_DICP" evaluate --run "$out" --planner "$planner" --episodes "$episodes" --out "$out/$planner.json" -q
}
evaluations() {
  evaluate "$1" none 50
  case $1 in dicp-*) evaluate "$1" beam 100 ;; esac
}
# Each model is evaluated as soon as it is trained, so it can be shipped while the next (or the other) trains.
if [ "$PARALLEL" = 1 ]; then
  pids=(); for m in "${MODELS[@]}"; do { train "$m" && evaluations "$m"; } & pids+=($!); done
  rc=0; for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  exit $rc
else
  for m in "${MODELS[@]}"; do train "$m"; evaluations "$m"; done
fi
exit 0
}
