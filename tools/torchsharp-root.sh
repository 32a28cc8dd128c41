#!/usr/bin/env bash
# Runs a command where TorchSharp's native library loads: natively when the host's libstdc++ has GLIBCXX_3.4.32
# (GCC 13+: Debian 13, Ubuntu 24.04), otherwise inside a Debian 13 (trixie) root made once with debootstrap and reused.
#
#   tools/torchsharp-root.sh [--allow-skip] [--root DIR] [--bind DIR]... [--native|--chroot] [--] [COMMAND ARGS...]
#
# Without a command it builds tests/Dicp.TorchSharp.Tests on the host (building needs no native library) and runs
# `dotnet test tests/Dicp.TorchSharp.Tests -c Release --no-build -p:DicpTorchSharpTests=true` where TorchSharp loads, then prints one plain line
# "torchsharp: N passed, N failed, N skipped" (the format .ci/run sums).
#
# The root lives outside any checkout: $DICP_TRIXIE_ROOT, default /var/cache/dicp/trixie-root (root) or
# ~/.cache/dicp/trixie-root. Creating it needs root privileges and Debian's mirror (2-3 minutes, once); a lock makes
# concurrent runs wait for one creation. Each run enters its own private mount namespace (unshare), bind-mounts
# /usr/share/dotnet, the NuGet package folder, the checkout (and ../shared, and each --bind DIR such as a data or run
# folder) at their host paths, mounts /proc and /dev,
# and chroots; the mounts vanish with the namespace when the command exits, however it exits.
#
# Exit codes: the command's own; 3 when TorchSharp cannot run here (no GLIBCXX_3.4.32, no root, no ready root folder)
# — with --allow-skip (or DICP_TORCHSHARP_ALLOW_SKIP=1) that case prints the reason and exits 0 instead.
set -euo pipefail

allow_skip=${DICP_TORCHSHARP_ALLOW_SKIP:-0}
binds=()
mode=auto
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
if [[ $(id -u) -eq 0 ]]; then default_root=/var/cache/dicp/trixie-root; else default_root=${XDG_CACHE_HOME:-$HOME/.cache}/dicp/trixie-root; fi
root_dir=${DICP_TRIXIE_ROOT:-$default_root}

while (($#)); do
  case $1 in
    --allow-skip) allow_skip=1; shift ;;
    --root) root_dir=$2; shift 2 ;;
    --bind) binds+=("$(cd "$2" && pwd -P)"); shift 2 ;;
    --native) mode=native; shift ;;
    --chroot) mode=chroot; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "torchsharp-root: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done

default_command=0
if (($# == 0)); then
  default_command=1
  set -- dotnet test tests/Dicp.TorchSharp.Tests -c Release --no-build -p:DicpTorchSharpTests=true
fi

cannot_run() {
  echo "torchsharp-root: the TorchSharp tests cannot run here: $1" >&2
  if [[ $allow_skip == 1 ]]; then
    echo "torchsharp: 0 passed, 0 failed"
    exit 0
  fi
  exit 3
}

has_glibcxx_3_4_32() {
  local lib
  for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    [[ -e $lib ]] && grep -aq 'GLIBCXX_3\.4\.32' "$lib" && return 0
  done
  return 1
}

dotnet_dir=$(dirname "$(readlink -f "$(command -v dotnet)")") || { echo "torchsharp-root: dotnet is not on PATH" >&2; exit 2; }
nuget_dir=${NUGET_PACKAGES:-$HOME/.nuget/packages}

# Runs "$@" (the test command when default) and prints the summary line; returns the command's status.
run_and_summarize() {
  local log status
  log=$(mktemp)
  set +e
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  ((default_command)) || grep -Eq '(Passed|Failed)!' "$log" || { rm -f "$log"; return "$status"; }
  awk '/(Passed|Failed)!/ {
         for (i = 1; i <= NF; i++) { if ($i == "Passed:") p += $(i+1); if ($i == "Failed:") f += $(i+1); if ($i == "Skipped:") s += $(i+1) }
       }
       END { printf "torchsharp: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
  rm -f "$log"
  return "$status"
}

if [[ $mode == auto ]]; then
  if has_glibcxx_3_4_32; then mode=native; else mode=chroot; fi
fi

cd "$checkout"
build_tests() {
  # Building needs no native library: do it on the host, where restore has the network and the host's certificates.
  if ((default_command)); then dotnet build tests/Dicp.TorchSharp.Tests -c Release -nologo -v q -p:DicpTorchSharpTests=true; fi
}

if [[ $mode == native ]]; then
  echo "torchsharp-root: the host's libstdc++ has GLIBCXX_3.4.32; running natively" >&2
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-1}
  build_tests
  run_and_summarize "$@"
  exit $?
fi

# --- the Debian 13 root -------------------------------------------------------------------------------------------
ready=$root_dir/.dicp-root-ready
if [[ $(id -u) -ne 0 ]]; then
  if [[ -e $ready ]]; then
    cannot_run "this host's libstdc++ lacks GLIBCXX_3.4.32 (TorchSharp 0.107 needs GCC 13's) and entering the Debian 13 root at $root_dir needs root privileges (run as root, or on Debian 13 / Ubuntu 24.04 where it runs natively)"
  fi
  cannot_run "this host's libstdc++ lacks GLIBCXX_3.4.32 (TorchSharp 0.107 needs GCC 13's), there is no Debian 13 root at $root_dir, and creating one needs root privileges (run as root once, or set DICP_TRIXIE_ROOT to a ready root, or use Debian 13 / Ubuntu 24.04)"
fi

mkdir -p "$(dirname "$root_dir")"
exec 9>"$root_dir.lock"
flock 9   # one creator; the others wait here and then find the root ready
if [[ ! -e $ready ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "torchsharp-root: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null 2>&1 ||
      { apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null; } ||
      cannot_run "debootstrap is missing and 'apt-get install debootstrap' failed"
  fi
  tmp=$root_dir.partial
  rm -rf --one-file-system "$tmp"
  echo "torchsharp-root: creating the Debian 13 root at $root_dir (debootstrap --variant=minbase trixie, a few minutes, once)" >&2
  if ! debootstrap --variant=minbase --include=ca-certificates trixie "$tmp" </dev/null >"$root_dir.debootstrap.log" 2>&1; then
    tail -20 "$root_dir.debootstrap.log" >&2
    rm -rf --one-file-system "$tmp"
    cannot_run "debootstrap of Debian 13 failed (log: $root_dir.debootstrap.log)"
  fi
  rm -rf --one-file-system "$root_dir"
  mv "$tmp" "$root_dir"
  date -u +%FT%TZ >"$ready"
fi
flock -u 9
grep -aq 'GLIBCXX_3\.4\.32' "$root_dir/usr/lib/x86_64-linux-gnu/libstdc++.so.6" 2>/dev/null ||
  cannot_run "the root at $root_dir has no libstdc++ with GLIBCXX_3.4.32 (delete it to have it recreated)"
build_tests
echo "torchsharp-root: running in the Debian 13 root $root_dir" >&2

# The command runs with the host's paths: dotnet at its own folder, HOME and the NuGet folder, the checkout.
cp -f /etc/resolv.conf "$root_dir/etc/resolv.conf" 2>/dev/null || true
shared=$(cd "$checkout/.." && pwd -P)/shared
quoted=$(printf '%q ' "$@")
run_and_summarize unshare --mount --propagation private -- bash -euc '
  r=$1 dotnet_dir=$2 nuget_dir=$3 checkout=$4 shared=$5 home=$6 cmd=$7; shift 7
  bind() { mkdir -p "$r$2"; mount --rbind "$1" "$r$2"; }
  bind "$dotnet_dir" "$dotnet_dir"
  mkdir -p "$nuget_dir"; bind "$nuget_dir" "$nuget_dir"
  bind "$checkout" "$checkout"
  [[ -d $shared ]] && bind "$shared" "$shared"
  for extra in "$@"; do bind "$extra" "$extra"; done
  bind /dev /dev
  mkdir -p "$r/proc" "$r/tmp" "$r$home"; mount -t proc proc "$r/proc"
  chmod 1777 "$r/tmp"
  exec chroot "$r" /usr/bin/env -i HOME="$home" PATH="$dotnet_dir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    DOTNET_ROOT="$dotnet_dir" DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 NUGET_PACKAGES="$nuget_dir" CI="${CI:-}" TERM=dumb \
    DICP_TORCHSHARP_CHROOT=1 ${DICP_TORCH_THREADS:+DICP_TORCH_THREADS=$DICP_TORCH_THREADS} \
    bash -c "cd \"\$0\" && $cmd" "$checkout"
'  torchsharp-root "$root_dir" "$dotnet_dir" "$nuget_dir" "$checkout" "$shared" "$HOME" "$quoted" ${binds[@]+"${binds[@]}"}
