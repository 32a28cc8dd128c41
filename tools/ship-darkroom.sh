#!/usr/bin/env bash
# Ships the finished Darkroom paper-scale runs (issue 16; docs/reproducing.md, "Shipped models"): after
# tools/darkroom-paper-scale.sh has trained and evaluated them, makes one model folder per run with dicp export
# (models/MODEL-darkroom, models/MODEL-darkroom-splitN), then draws the Figure-2-style curves of every shipped
# Darkroom model (one panel per method, as the paper's Figure 2: split seed 0, and AD/DICP-AD pooled over the split
# seeds) and prints the comparison tables at episodes 10 and 50 (the paper's steps 200 and 1 000) with 95 % intervals.
#
#   tools/ship-darkroom.sh [RUN_NAME ...]     (default: every run under $RUNS/runs named *-darkroom or *-darkroom-splitN)
#
# Environment: DICP (default dicp on PATH; a build of this checkout, so the shipped results reproduce), RUNS (default
# ~/dicp-runs), DATA (the collection the split-0 runs were trained on; default $RUNS/data/darkroom; a -splitN run's is
# DATA-splitN, as darkroom-paper-scale.sh makes it), MODELS (default the
# checkout's models/), FIGURE (default the checkout's docs/figures/darkroom-figure2.svg: split seed 0), SPLITS_FIGURE
# (default docs/figures/darkroom-splits.svg: AD and DICP-AD over the split seeds), FORCE=1 to replace existing
# model folders. A run without model.safetensors or none.json (not finished, or not yet evaluated) is skipped with a
# line saying so; nothing is exported twice unless FORCE=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DICP=${DICP:-dicp}; RUNS=${RUNS:-$HOME/dicp-runs}; DATA=${DATA:-$RUNS/data/darkroom}
MODELS=${MODELS:-$root/models}; FIGURE=${FIGURE:-$root/docs/figures/darkroom-figure2.svg}
SPLITS_FIGURE=${SPLITS_FIGURE:-$root/docs/figures/darkroom-splits.svg}
[ -d "$RUNS/runs" ] || { echo "ship-darkroom: no $RUNS/runs (set RUNS)" >&2; exit 2; }
[ -f "$DATA/manifest.json" ] || { echo "ship-darkroom: no history collection at $DATA (set DATA)" >&2; exit 2; }

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$RUNS"/runs/*-darkroom "$RUNS"/runs/*-darkroom-split[0-9]*; do [ -d "$d" ] && names+=("$(basename "$d")"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "ship-darkroom: no Darkroom runs under $RUNS/runs" >&2; exit 2; }

shipped=()
for name in "${names[@]}"; do
  run=$RUNS/runs/$name
  if [ ! -f "$run/model.safetensors" ]; then echo "skip $name: not finished (no model.safetensors)"; continue; fi
  if [ ! -f "$run/none.json" ]; then echo "skip $name: not evaluated (no none.json)"; continue; fi
  results=("$run/none.json"); [ -f "$run/beam.json" ] && results+=("$run/beam.json")
  if [ -d "$MODELS/$name" ] && [ "${FORCE:-0}" != 1 ]; then
    echo "keep $name: $MODELS/$name exists (FORCE=1 replaces it)"
  else
    force=(); [ "${FORCE:-0}" = 1 ] && force=(--force)
    data=$DATA; [[ $name =~ -split[0-9]+$ ]] && data=$DATA${BASH_REMATCH[0]}
    "$DICP" export --run "$run" --data "$data" --out "$MODELS/$name" --results "${results[@]}" "${force[@]}" -q
    echo "shipped $name -> $MODELS/$name (${#results[@]} results files)"
  fi
  shipped+=("$name")
done
[ ${#shipped[@]} -gt 0 ] || { echo "ship-darkroom: nothing finished to ship yet"; exit 0; }

# The figures and tables over every shipped Darkroom model (not only this call's): policy curves of the plain models,
# planner curves of the dicp-* models, as the paper's Figure 2 draws them, one panel per method. FIGURE: split seed 0,
# every method. SPLITS_FIGURE: AD and DICP-AD pooled over the split seeds where both are shipped (the paper's mean over
# splits compares the two on the same held-out goals).
curve() { case $(basename "$1") in dicp-*) echo "$1/beam.json" ;; *) echo "$1/none.json" ;; esac; }
files=()
for d in "$MODELS"/*-darkroom; do
  [ -f "$(curve "$d")" ] && files+=("$(curve "$d")")
done
mkdir -p "$(dirname "$FIGURE")"
echo "split seed 0:"
"$DICP" plot "${files[@]}" --out "$FIGURE" --at 10,50 --x steps --panels method --title "Darkroom, split seed 0"
echo "figure: $FIGURE"
pairs=(); seeds=()
for d in "$MODELS"/ad-darkroom "$MODELS"/ad-darkroom-split[0-9]*; do
  suffix=${d#"$MODELS"/ad-darkroom}
  if [ -f "$d/none.json" ] && [ -f "$MODELS/dicp-ad-darkroom$suffix/beam.json" ]; then
    pairs+=("$d/none.json" "$MODELS/dicp-ad-darkroom$suffix/beam.json"); seeds+=("${suffix#-split}")
  fi
done
if [ ${#seeds[@]} -gt 1 ]; then
  seeds[0]=${seeds[0]:-0}
  list=$(IFS=,; echo "${seeds[*]}")
  echo "AD and DICP-AD over split seeds $list:"
  "$DICP" plot "${pairs[@]}" --out "$SPLITS_FIGURE" --at 10,50 --x steps --title "Darkroom, split seeds $list"
  echo "figure: $SPLITS_FIGURE"
fi
