#!/usr/bin/env bash
# Installs what xccl-bench needs on a fresh Debian/Ubuntu machine (as root), only what is
# missing: a C toolchain, MPI (OpenMPI), libclang (bindgen), iproute2 (emulated cluster),
# and a Rust toolchain via rustup when cargo is absent.
#
#   source scripts/setup.sh            installs what is missing; exports PATH and the OpenMPI
#                                      run-as-root variables (scripts/test.sh, quickstart.sh)
#   bash scripts/setup.sh --print-needs  prints the apt packages it would install, one line,
#                                      and installs nothing
#
# Every check looks for the file the build or the tests actually use, under SETUP_ROOT
# (default /), so that tests/setup-detect-test.sh can run the checks on fake trees.
set -euo pipefail

# Is command $1 on PATH under root $2? (`command -v`, but rooted, so fake trees work.)
setup_has_cmd() {
  local d
  local IFS=:
  for d in $PATH; do
    [ -n "$d" ] && [ -x "$2$d/$1" ] && [ ! -d "$2$d/$1" ] && return 0
  done
  return 1
}

# Does any of the glob patterns (already prefixed by the root) match an existing path?
setup_any() {
  local p
  for p in "$@"; do
    [ -e "$p" ] && return 0
  done
  return 1
}

# A libclang that clang-sys (bindgen's loader) accepts: exactly its file patterns
# libclang.so, libclang-*.so, libclang.so.*, libclang-*.so.*, in the directories it searches,
# and never libclang-cpp (the C++ library of libclang-cpp14, which clang-sys skips too).
setup_has_libclang() {
  local root=$1 multiarch=$2 dir f name
  local dirs=()
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    dirs+=("$root$LIBCLANG_PATH") # clang-sys then searches only there
  else
    if [ "$root" = "" ] && command -v llvm-config >/dev/null; then
      dirs+=("$(llvm-config --libdir 2>/dev/null || true)")
    fi
    local IFS=:
    for dir in ${LD_LIBRARY_PATH:-} ${LIBRARY_PATH:-}; do [ -n "$dir" ] && dirs+=("$root$dir"); done
    unset IFS
    dirs+=("$root"/usr/local/llvm*/lib* "$root"/usr/lib/llvm-*/lib "$root/usr/lib/$multiarch"
      "$root"/usr/lib64 "$root"/usr/lib "$root"/usr/local/lib "$root/usr/local/lib/$multiarch")
  fi
  for dir in "${dirs[@]}"; do
    for f in "$dir"/libclang.so "$dir"/libclang-*.so "$dir"/libclang.so.* "$dir"/libclang-*.so.*; do
      [ -e "$f" ] || continue
      name=${f##*/}
      case $name in *-cpp.*) continue ;; esac
      return 0
    done
  done
  return 1
}

# The clang builtin headers (stddef.h, ...) that libclang parses mpi.h with; they come with
# libclang-common-N-dev (pulled in by libclang-dev), not with the runtime libclang1-N.
setup_has_clang_headers() {
  local root=$1
  setup_any "$root"/usr/lib/llvm-*/lib/clang/*/include/stddef.h \
    "$root"/usr/lib/clang/*/include/stddef.h "$root"/usr/local/lib/clang/*/include/stddef.h \
    "$root"/usr/local/llvm*/lib/clang/*/include/stddef.h
}

# Prints the apt packages missing under root $1 (default /), space-separated.
setup_needs() {
  local root=${1:-/}
  root=${root%/} # "/" becomes "", so "$root/usr" is /usr
  local multiarch=${SETUP_MULTIARCH:-$(uname -m)-linux-gnu}
  local need=()
  # cc links every Rust binary and compiles the MPI shims; libc headers for it and for bindgen.
  { setup_has_cmd cc "$root" && [ -e "$root/usr/include/stdlib.h" ]; } || need+=(build-essential)
  # mpirun runs the tests; mpicc is what build-probe-mpi asks first (openmpi-bin has both).
  { setup_has_cmd mpirun "$root" && setup_has_cmd mpicc "$root"; } || need+=(openmpi-bin)
  # mpicc -show points at these headers, which are in libopenmpi-dev, not in openmpi-bin.
  setup_any "$root/usr/lib/$multiarch/openmpi/include/mpi.h" "$root/usr/include/$multiarch/mpi/mpi.h" \
    "$root/usr/include/mpi.h" "$root/usr/local/include/mpi.h" || need+=(libopenmpi-dev)
  { setup_has_libclang "$root" "$multiarch" && setup_has_clang_headers "$root"; } || need+=(libclang-dev)
  # build-probe-mpi's fallback when mpicc -show fails.
  setup_has_cmd pkg-config "$root" || need+=(pkg-config)
  { setup_has_cmd ip "$root" && setup_has_cmd tc "$root"; } || need+=(iproute2)
  setup_has_cmd python3 "$root" || need+=(python3)
  # `python3 -m pip` imports this package (fetch-vendor-wheels.sh).
  setup_any "$root"/usr/lib/python3/dist-packages/pip/__init__.py \
    "$root"/usr/local/lib/python3*/dist-packages/pip/__init__.py \
    "$root"/usr/lib/python3*/site-packages/pip/__init__.py || need+=(python3-pip)
  setup_has_cmd curl "$root" || need+=(curl)
  setup_has_cmd jq "$root" || need+=(jq)
  setup_has_cmd unshare "$root" || need+=(util-linux)
  echo "${need[*]}"
}

# Executed with --print-needs: report and stop. (Sourced, "$@" is the caller's: ignore it.)
if [ "${BASH_SOURCE[0]}" = "$0" ] && [ $# -gt 0 ]; then
  case $1 in
    --print-needs | --dry-run)
      setup_needs "${SETUP_ROOT:-/}"
      exit 0
      ;;
    *)
      echo "setup.sh: unknown argument '$1' (use --print-needs, or no argument)" >&2
      exit 2
      ;;
  esac
fi

read -r -a setup_missing <<<"$(setup_needs "${SETUP_ROOT:-/}")"
if [ ${#setup_missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${setup_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${setup_missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    echo "[setup] installing Rust with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
  }
  export PATH="$HOME/.cargo/bin:$PATH"
fi
# OpenMPI refuses root without these; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
