#!/usr/bin/env bash
# Runs Dicp's whole test suite, after installing what the tests need and the machine lacks.
#
#   bash test.sh            install what is missing (says what; root only for that step), then run every test
#   bash test.sh --no-install   run the tests without checking or installing system packages
#
# Needs the .NET 10 SDK. On Debian 12/13 or Ubuntu it installs, only when missing: MuJoCo 2.2.2 (libmujoco2.2.2,
# libmujoco-dev) and a C compiler (gcc, libc6-dev), which Meta-World's tests need (Dicp.Environments compiles a small
# C shim against MuJoCo on first use). With everything present it installs nothing.
# Ends with one plain line 'N passed, N failed, N skipped' over all stages and exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"

install=1
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (see bash test.sh --help)" >&2; exit 2 ;;
  esac
done

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK (dotnet) is required: https://dotnet.microsoft.com/download" >&2
  exit 2
fi

# --- prerequisites --------------------------------------------------------------------------------------------------
# Debian packages the tests need; each stage may append its own (e.g. a later stage's debootstrap).
debian_packages=(libmujoco2.2.2 libmujoco-dev gcc libc6-dev)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "test.sh: installing needs root: run this script as root or install sudo, or install these yourself:" >&2
    echo "  apt-get install ${missing[*]}" >&2
    exit 2
  fi
}

install_missing() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: not a Debian/Ubuntu system: install MuJoCo 2.2.2 (library and headers) and a C compiler yourself;" >&2
    echo "         the Meta-World tests fail without them (see docs/getting-started.md)." >&2
    return
  fi
  missing=()
  for p in "${debian_packages[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "test.sh: installing ${missing[*]} (apt-get; needs root)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "test.sh: installed ${missing[*]}"
}

((install)) && install_missing

# Meta-World's scene files are no package: the Meta-World tests read them from ../shared/metaworld/assets_v2 next to
# the repository, or from $DICP_METAWORLD_ASSETS. Say so up front when they are missing (those tests then fail).
assets=${DICP_METAWORLD_ASSETS:-../shared/metaworld/assets_v2}
if [[ ! -d "$assets/sawyer_xyz" ]]; then
  echo "test.sh: warning: no Meta-World scene files at '$assets' (set DICP_METAWORLD_ASSETS to Meta-World's assets_v2 folder);" >&2
  echo "         the Meta-World tests will fail without them." >&2
fi

# --- stages ---------------------------------------------------------------------------------------------------------
# Each stage runs one test command and leaves its output in a log; the summary adds up every log.
# A further stage is a function and one line in the list below, e.g.
#   stage_torchsharp() { [[ -x tools/<script>.sh ]] || return 0; tools/<script>.sh 2>&1 | tee "$1"; return "${PIPESTATUS[0]}"; }
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

stage_dotnet() { dotnet test Dicp.sln -c Release 2>&1 | tee "$1"; return "${PIPESTATUS[0]}"; }

# TorchSharp's native library needs GLIBCXX_3.4.32 (Debian 13, Ubuntu 24.04): the script runs the TorchSharp tests
# natively there and elsewhere inside a Debian 13 root it makes once (debootstrap, root only) and reuses.
stage_torchsharp() { tools/torchsharp-root.sh 2>&1 | tee "$1"; return "${PIPESTATUS[0]}"; }

stages=(stage_dotnet stage_torchsharp)

status=0
for s in "${stages[@]}"; do
  echo "test.sh: $s"
  "$s" "$logs/$s.log" || { status=1; echo "test.sh: $s failed" >&2; }
done

# One plain summary line over every test assembly of every stage (the lines 'Passed!  - Failed: 0, Passed: 12, ...'
# or 'Failed!  - ...' that dotnet test prints per assembly).
cat "$logs"/*.log 2>/dev/null | awk '/(Passed|Failed)! +- / {
       for (i = 1; i <= NF; i++) { v = $(i+1); gsub(",", "", v)
         if ($i == "Passed:") p += v; if ($i == "Failed:") f += v; if ($i == "Skipped:") s += v }
     }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s; if (f > 0) exit 1 }' || status=1
exit "$status"
