#!/usr/bin/env bash
# Runs Dicp's harness (benchmarks/Dicp.Benchmarks, Release) and its PyTorch twin (benchmarks/torch_twin.py) side by
# side for each measurement and prints the ratio dicp/pytorch of the median times (< 1: Dicp is faster).
#
# usage: benchmarks/run.sh [all|quick|train|infer|gemm|alloc|profile|parity|plan|numerics]   (default: all)
#   all     parity, ad-train 512 and 64, ad-infer 20 and 1000, gemm, alloc (Dicp only)   a few minutes
#   parity  Dicp's weights and batch loaded into the twin: evaluation outputs must agree (max |diff| < 1e-3)
#   quick   ad-train 64, ad-infer 20
#   profile Dicp's step split and per-op microbenchmarks at batch 512, then PyTorch's profiler table (stderr)
#   plan    one beam-search planning step of DICP-AD on Darkroom (K 10, L 5, horizon 8, 20 environments): Dicp's
#           shared-prefix and naive paths, and the PyTorch twin of the reference's naive algorithm, ROUNDS times
#           (default 1), each round's ratios and, with more rounds, their median (minutes per round). Dicp's shared
#           path is timed after 10 warm-up steps: .NET's tiered JIT reaches its steady state within about 10 planning
#           steps, and an evaluation plans thousands (100 Darkroom episodes: 1 920 per environment)
#   numerics Dicp alone, before/after in one run: the training step at batch 512 and 64 (2 threads) and at batch 512 on
#           1 thread, under DICP_NUMERICS=1 (the kernels' rounding before the AVX2 fused kernels) and the newest level,
#           alternating ROUNDS times (default 3): each round's ratio new/old of the median step and the median ratio
# env: THREADS (default 2), RESULTS=file (append the raw JSON lines), IDLE_WAIT=seconds to wait for an idle
#      machine before each run (default 60; 0 disables), BUSY_PCT (default 20): "idle" means less CPU busy than this.
#
# PyTorch runs the fair setup of docs/performance.md: Debian's python3-torch 1.13, OpenBLAS (libopenblas0-openmp,
# which takes over libblas.so.3) and tcmalloc preloaded. Install once with
#   apt-get install -y libopenblas0-openmp libtcmalloc-minimal4
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-all}"
THREADS="${THREADS:-2}"
IDLE_WAIT="${IDLE_WAIT:-60}"
BUSY_PCT="${BUSY_PCT:-20}"
PY=/usr/bin/python3
TCMALLOC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

if [[ -f "$TCMALLOC" ]]; then PRELOAD="$TCMALLOC"; else
  PRELOAD=""; echo "run.sh: warning: $TCMALLOC missing (apt-get install -y libtcmalloc-minimal4); PyTorch runs with glibc malloc" >&2
fi
if ! ls /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 >/dev/null 2>&1; then
  echo "run.sh: warning: OpenBLAS (libopenblas0-openmp) is not installed; PyTorch uses the reference BLAS" >&2
fi

echo "# building the C# harness (Release)" >&2
dotnet build -c Release benchmarks/Dicp.Benchmarks -nologo -v q >&2

dicp() { dotnet run --no-build -c Release --project benchmarks/Dicp.Benchmarks -- "$@" --threads "$THREADS"; }
torch() { LD_PRELOAD="$PRELOAD" "$PY" benchmarks/torch_twin.py "$@" --threads "$THREADS"; }

# Percentage of CPU time not idle over one second (from /proc/stat).
busy_pct() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," ");split(b,y," ");bu=y[1]-x[1];id=y[2]-x[2];print (bu+id>0)?int(100*bu/(bu+id)):0}'
}

# Others share this machine (builds, tests): wait a little for it to go quiet so both sides see the same conditions.
wait_idle() {
  [[ "$IDLE_WAIT" -gt 0 ]] || return 0
  local waited=0 b
  while b=$(busy_pct); [[ "$b" -ge "$BUSY_PCT" ]]; do
    if [[ "$waited" -ge "$IDLE_WAIT" ]]; then echo "# machine still ${b}% busy after ${IDLE_WAIT}s; measuring anyway (numbers are noisy)" >&2; return 0; fi
    waited=$((waited + 1))
  done
}

record() { if [[ -n "${RESULTS:-}" ]]; then printf '%s\n' "$1" >> "$RESULTS"; fi; }
# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }

# pair <label> <args...>: runs both implementations with the same arguments and prints the ratio of median_ms
# (for gemm: per layer, of fwd_ms and bwd_ms).
pair() {
  local label="$1"; shift
  local d t
  wait_idle; d=$(dicp "$@" | grep '^{') || { echo "dicp $* failed" >&2; return 1; }
  wait_idle; t=$(torch "$@" | grep '^{') || { echo "torch_twin $* failed" >&2; return 1; }
  while IFS= read -r l; do echo "$l"; record "$l"; done <<< "$d"
  while IFS= read -r l; do echo "$l"; record "$l"; done <<< "$t"
  DICP_JSON="$d" TORCH_JSON="$t" LABEL="$label" "$PY" - <<'EOF'
import json, os
d = [json.loads(l) for l in os.environ["DICP_JSON"].splitlines() if l.strip()]
t = [json.loads(l) for l in os.environ["TORCH_JSON"].splitlines() if l.strip()]
label = os.environ["LABEL"]
for a, b in zip(d, t):
    if a["bench"] == "gemm":
        print(f"== {label} {a['layer']:6} (M={a['m']}, K={a['k']}, N={a['n']}): fwd dicp {a['fwd_ms']:.3f} ms ({a['fwd_gflops']} GFLOP/s)"
              f" vs pytorch {b['fwd_ms']:.3f} ms ({b['fwd_gflops']} GFLOP/s), dicp/pytorch = {a['fwd_ms'] / b['fwd_ms']:.2f};"
              f" fwd+bwd dicp/pytorch = {(a['fwd_ms'] + a['bwd_ms']) / (b['fwd_ms'] + b['bwd_ms']):.2f}")
    else:
        print(f"== {label}: dicp {a['median_ms']:.2f} ms, pytorch {b['median_ms']:.2f} ms (median), dicp/pytorch = {a['median_ms'] / b['median_ms']:.2f}")
EOF
}

# parity: the two implementations compute the same function (Dicp's weights and batch loaded into the twin, eval mode).
parity() {
  local f l
  f=$(mktemp --suffix=.safetensors)
  dicp parity --out "$f" --batch 4 >/dev/null
  l=$(torch parity --file "$f" | grep '^{') || { echo "$l"; rm -f "$f"; echo "run.sh: parity check FAILED" >&2; return 1; }
  rm -f "$f"; echo "$l"; record "$l"
}

# plan_step: Dicp shared-prefix, Dicp naive, PyTorch naive; prints the speed-ups over the PyTorch naive step.
plan_step() {
  local args=(--envs 20 --beam-k 10 --samples 5 --horizon 8) d="" n="" t l r ratios=""
  for r in $(seq "${ROUNDS:-1}"); do
    echo "# round $r, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    wait_idle; d=$(dicp plan-step "${args[@]}" --iters 10 --warmup 10 | grep '^{') || echo "dicp plan-step unavailable (see above)" >&2
    wait_idle; n=$(dicp plan-step "${args[@]}" --iters 3 --warmup 1 --naive | grep '^{') || true
    wait_idle; t=$(torch plan-step "${args[@]}" --iters 3 --warmup 1 | grep '^{') || { echo "torch_twin plan-step failed" >&2; return 1; }
    for l in "$d" "$n" "$t"; do [[ -n "$l" ]] && { echo "$l"; record "$l"; }; done
    ratios="$ratios $(SHARED="$d" NAIVE="$n" TORCH="$t" "$PY" benchmarks/plan_ratio.py)"
  done
  if [[ "${ROUNDS:-1}" -gt 1 ]]; then
    echo "== plan-step dicp-shared vs torch-naive per round:$ratios; median $(median $ratios)x"
  fi
}

# numerics: alternate DICP_NUMERICS=1 and the newest level on the same measurement; per-round and median ratios.
numerics() {
  local rounds="${ROUNDS:-3}" label th args old new r ratios
  local specs=("batch 512|$THREADS|ad-train --batch 512 --steps 8 --warmup 3" "batch 64|$THREADS|ad-train --batch 64 --steps 30 --warmup 5"
               "batch 512, 1 thread|1|ad-train --batch 512 --steps 4 --warmup 2")
  for spec in "${specs[@]}"; do
    IFS='|' read -r label th args <<< "$spec"; ratios=""
    for r in $(seq "$rounds"); do
      local t=(); read -ra t <<< "$args"
      wait_idle; old=$(DICP_NUMERICS=1 dotnet run --no-build -c Release --project benchmarks/Dicp.Benchmarks -- "${t[@]}" --threads "$th" | grep '^{')
      wait_idle; new=$(dotnet run --no-build -c Release --project benchmarks/Dicp.Benchmarks -- "${t[@]}" --threads "$th" | grep '^{')
      record "$old"; record "$new"
      ratios="$ratios $(OLD="$old" NEW="$new" LABEL="$label" R="$r" "$PY" -c '
import json, os, sys
o, n, label, r = json.loads(os.environ["OLD"])["median_ms"], json.loads(os.environ["NEW"])["median_ms"], os.environ["LABEL"], os.environ["R"]
print(f"== numerics, {label}, round {r}: level 1 {o:.1f} ms, newest {n:.1f} ms, new/old = {n / o:.3f}", file=sys.stderr)
print(f"{n / o:.4f}")')"
    done
    echo "== numerics, $label: median new/old over $rounds rounds = $(median $ratios) (load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
}

solo() { local l; wait_idle; while IFS= read -r l; do echo "$l"; record "$l"; done < <(dicp "$@" | grep '^{'); }

case "$MODE" in
  all)
    parity
    pair "ad-train batch 512" ad-train --batch 512 --steps 10 --warmup 3
    pair "ad-train batch 64" ad-train --batch 64 --steps 30 --warmup 5
    pair "ad-infer batch 20" ad-infer --batch 20 --iters 50
    pair "ad-infer batch 1000" ad-infer --batch 1000 --iters 10 --warmup 2
    pair "gemm" gemm --iters 20
    solo alloc --batch 64
    ;;
  quick)
    parity
    pair "ad-train batch 64" ad-train --batch 64 --steps 20 --warmup 5
    pair "ad-infer batch 20" ad-infer --batch 20 --iters 50
    ;;
  train)
    pair "ad-train batch 512" ad-train --batch 512 --steps 10 --warmup 3
    pair "ad-train batch 64" ad-train --batch 64 --steps 30 --warmup 5
    ;;
  infer)
    pair "ad-infer batch 20" ad-infer --batch 20 --iters 50
    pair "ad-infer batch 1000" ad-infer --batch 1000 --iters 10 --warmup 2
    ;;
  gemm) pair "gemm" gemm --iters 20 ;;
  parity) parity ;;
  plan) plan_step ;;
  numerics) numerics ;;
  alloc) solo alloc --batch 64; solo alloc --batch 512 --steps 5 --warmup 2 ;;
  profile)
    solo profile --batch 512
    wait_idle; torch profile --batch 512 --steps 3
    ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
