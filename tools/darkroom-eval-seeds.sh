#!/usr/bin/env bash
# How much of a shipped Darkroom result is the evaluation's luck (issue 16; docs/reproducing.md, "Darkroom split
# seed 0: AD and DICP-AD"). The reference's protocol evaluates one stream per test goal with sampled actions, so one
# split's 8 goals give one draw of the actions; this script evaluates the shipped models again with evaluation seeds
# 1…N (seed 0 is the shipped results file itself) and pools every seed's file into one curve per model and planner
# with `dicp plot`, which prints the mean and the 95 % interval at episodes 10 and 50 (the paper's steps 200 and 1 000).
# Nothing is trained; the seeds' files are small and kept in the checkout.
#
#   tools/darkroom-eval-seeds.sh [MODEL ...]     (default: ad-darkroom dicp-ad-darkroom)
#
# Environment: DICP (default dicp on PATH; a build of this checkout), SEEDS (default 9: seeds 1…9), MODELS (default
# the checkout's models/), OUT (default the checkout's results/darkroom-eval-seeds), FIGURE (default OUT/curves.svg).
# A seed's file that exists is checked instead of rewritten (`dicp evaluate --expect`: exit 1 when it differs). Cost on
# the 2-core AVX-512 host: ≈ 4 s per policy-only evaluation, ≈ 75 s CPU per 100-episode beam evaluation of DICP-AD,
# ≈ 260 s of DICP-DPT (its imagined nodes share no cached prefix).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DICP=${DICP:-dicp}; SEEDS=${SEEDS:-9}; MODELS=${MODELS:-$root/models}
OUT=${OUT:-$root/results/darkroom-eval-seeds}; FIGURE=${FIGURE:-$OUT/curves.svg}
[[ $SEEDS =~ ^[0-9]+$ ]] || { echo "darkroom-eval-seeds: SEEDS must be a count of seeds, not '$SEEDS'" >&2; exit 2; }
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(ad-darkroom dicp-ad-darkroom)
mkdir -p "$OUT"

files=()
for name in "${names[@]}"; do
  model=$MODELS/$name
  [ -f "$model/none.json" ] || { echo "darkroom-eval-seeds: $model has no none.json (not a shipped model)" >&2; exit 2; }
  for planner in none beam; do
    shipped=$model/$planner.json
    [ -f "$shipped" ] || continue
    files+=("$shipped")
    for ((seed = 1; seed <= SEEDS; seed++)); do
      file=$OUT/$name-$planner-seed$seed.json
      if [ -f "$file" ]; then
        "$DICP" evaluate --run "$model" --expect "$file" -q >/dev/null
        echo "checked $file"
      else
        # The shipped file's settings (planner, episodes, reserve, flags) with another seed.
        episodes=$(grep -o '"episodes": *[0-9]*' "$shipped" | head -1 | grep -o '[0-9]*$')
        "$DICP" evaluate --run "$model" --planner "$planner" --episodes "$episodes" --seed "$seed" --out "$file.tmp" -q
        mv "$file.tmp" "$file"
        echo "wrote $file"
      fi
      files+=("$file")
    done
  done
done
"$DICP" plot "${files[@]}" --out "$FIGURE" --at 10,50 --x steps \
  --title "Darkroom ${names[*]}, evaluation seeds 0-$SEEDS pooled (test goals, sampled actions)"
