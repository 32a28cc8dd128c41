#!/usr/bin/env bash
# Carries unfinished long runs (issue 16) from one machine to the next through the checkout. The run folders live
# outside the checkout (~/dicp-runs), and a session's machine may be a new one on which that folder is gone (it
# happened on 3 December 2026: two runs at steps ≈ 21 000 of 50 000 were lost with it). What makes a run resumable
# bit-exactly is small — the last checkpoint (parameters, AdamW moments, the RNG states, the step) and the run's
# metadata — and the histories it trains on are rebuilt bit-exactly by `dicp collect` (the trainer refuses a resume
# whose data differs from run-identity.json).
#
#   tools/carry-runs.sh save [RUN ...]      copy each run's resumable files into results/carry/RUN
#                                           (default: every run under $RUNS/runs that has a checkpoint but no model)
#   tools/carry-runs.sh save --live [RUN ...]   the same for runs that are training now, without stopping them: the
#                                           carried state is their last periodic checkpoint (every 1 000 steps)
#   tools/carry-runs.sh watch [MINUTES]     save --live every unfinished run every MINUTES (default 30) until killed:
#                                           start it beside the runs (setsid nohup …), so that a session cut off
#                                           early leaves a carry at most MINUTES old in the checkout to commit or
#                                           recover; a failed save is reported on stderr and retried next time
#   tools/carry-runs.sh restore [RUN ...]   copy each carried run back into $RUNS/runs/RUN unless that run is already
#                                           at the same or a later checkpoint (default: every carried run)
#
# Save takes stopped runs (stop them with SIGTERM, which writes a checkpoint of the last step) or, with --live, running
# ones: a machine can be replaced before a session's end, so carry a live run every hour or so and commit it. A live
# copy is consistent because the trainer replaces checkpoint.safetensors atomically and writes a step's metrics.csv and
# timing.csv rows before its checkpoint: the checkpoint is copied first, the logs after it (a row still being appended
# is dropped), and the resume trims the rows past the checkpoint. A carried folder holds checkpoint.safetensors,
# metrics.csv (trimmed to the checkpoint on resume), timing.csv, run-config.json, run-identity.json and the TensorBoard
# events: ≈ 1 MB per run. Once a run has finished and been shipped (tools/ship-darkroom.sh), delete its carried folder.
# Environment: RUNS (default ~/dicp-runs), CARRY (default the checkout's results/carry), DICP (the dicp command, for
# `dicp status`; default dicp on PATH).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); CARRY=${CARRY:-$ROOT/results/carry}
RUNS=${RUNS:-$HOME/dicp-runs}; DICP=${DICP:-dicp}
die() { echo "error: $*" >&2; exit 2; }
FILES=(checkpoint.safetensors metrics.csv timing.csv run-config.json run-identity.json)

# A run's `dicp status --json` (which validates its checkpoint; one line and exit 2 when it is not a run), read once
# per directory, and two of its fields: the checkpoint's step (0 when it has none) and the state (training, stopped,
# done, not started).
status_of() { "$DICP" status "$1" --json; }
checkpoint_step() { grep -o '"checkpoint_step":[0-9]*' <<<"$1" | cut -d: -f2; }
run_state() { grep -o '"state":"[a-z ]*"' <<<"$1" | cut -d'"' -f4; }

# Copies the carried files of run directory $1 into $2 through a temporary folder, then swaps it in.
# The checkpoint goes first: a live run's logs are then at or past it.
copy_run() {
  local from=$1 to=$2 tmp; tmp="$to.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  for f in "${FILES[@]}"; do [ ! -f "$from/$f" ] || cp -p "$from/$f" "$tmp/$f"; done
  for f in metrics.csv timing.csv; do
    # A row still being appended has no line end yet: keep the complete lines only.
    if [ -s "$tmp/$f" ] && [ "$(tail -c1 "$tmp/$f" | od -An -c | tr -d ' ')" != '\n' ]; then
      head -n "$(wc -l < "$tmp/$f")" "$tmp/$f" > "$tmp/$f.part" && mv "$tmp/$f.part" "$tmp/$f"
    fi
  done
  [ ! -d "$from/tensorboard" ] || cp -rp "$from/tensorboard" "$tmp/tensorboard"
  rm -rf "$to.old"; [ ! -e "$to" ] || mv "$to" "$to.old"; mv "$tmp" "$to"; rm -rf "$to.old"
}

case ${1:-} in
  save)
    shift; live=0; [ "${1:-}" != --live ] || { live=1; shift; }; names=("$@")
    if [ ${#names[@]} -eq 0 ]; then
      for d in "$RUNS"/runs/*/; do d=${d%/}; [ -f "$d/checkpoint.safetensors" ] && [ ! -f "$d/model.safetensors" ] && names+=("$(basename "$d")"); done
    fi
    [ ${#names[@]} -gt 0 ] || die "no unfinished run with a checkpoint under '$RUNS/runs'"
    for n in "${names[@]}"; do
      d=$RUNS/runs/$n
      [ -f "$d/checkpoint.safetensors" ] || die "'$d' has no checkpoint.safetensors"
      status=$(status_of "$d") || exit 2
      [ "$live" = 1 ] || [ "$(run_state "$status")" != training ] ||
        die "'$d' is training now: stop it first (SIGTERM writes a checkpoint of its last step) or carry its last checkpoint with --live"
      mkdir -p "$CARRY"; copy_run "$d" "$CARRY/$n"
      status=$(status_of "$CARRY/$n") || exit 2
      echo "saved $n: checkpoint step $(checkpoint_step "$status") -> ${CARRY#"$ROOT"/}/$n ($(du -sh "$CARRY/$n" | cut -f1))"
    done ;;
  watch)
    [ $# -le 2 ] || die "watch takes one argument (MINUTES), not $(($# - 1))"
    every=${2:-30}; [[ "$every" =~ ^[1-9][0-9]*$ ]] || die "watch: MINUTES must be a positive whole number, not '$every'"
    while :; do
      sleep "$((every * 60))"
      "$0" save --live || echo "$(date -u +%FT%TZ) watch: save failed; retrying in $every min" >&2
    done ;;
  restore)
    shift; names=("$@")
    if [ ${#names[@]} -eq 0 ]; then for d in "$CARRY"/*/; do [ -d "$d" ] && names+=("$(basename "$d")"); done; fi
    [ ${#names[@]} -gt 0 ] || die "nothing carried under '${CARRY#"$ROOT"/}'"
    mkdir -p "$RUNS/runs"
    for n in "${names[@]}"; do
      c=$CARRY/$n; d=$RUNS/runs/$n
      [ -f "$c/checkpoint.safetensors" ] || die "'$c' has no checkpoint.safetensors"
      status=$(status_of "$c") || exit 2; carried=$(checkpoint_step "$status")
      if [ -f "$d/model.safetensors" ]; then echo "kept $n: '$d' has finished"; continue; fi
      if [ -f "$d/checkpoint.safetensors" ]; then
        status=$(status_of "$d") || exit 2; here=$(checkpoint_step "$status")
        if [ "$here" -ge "$carried" ]; then echo "kept $n: '$d' is at checkpoint $here, the carried one at $carried"; continue; fi
        [ "$(run_state "$status")" != training ] || die "'$d' is training now (checkpoint $here, carried $carried): stop it first"
      fi
      copy_run "$c" "$d"
      echo "restored $n: checkpoint step $carried -> $d"
    done ;;
  *) die "usage: tools/carry-runs.sh save [--live] [RUN ...] | watch [MINUTES] | restore [RUN ...]" ;;
esac
