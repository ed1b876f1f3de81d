#!/usr/bin/env bash
# Regression test for scripts/setup.sh's detection: builds fake roots and checks which apt
# packages `setup.sh --print-needs` asks for. Exit 0 pass, 1 fail.
# SETUP_SH=path runs it against another copy (e.g. an old one, to watch this test fail).
set -uo pipefail
cd "$(dirname "$0")/.."
SETUP_SH=${SETUP_SH:-scripts/setup.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get and curl stubs first on PATH: a setup.sh without --print-needs must not install
# anything from here. They are absolute, so no fake root has them under its PATH.
mkdir -p "$tmp/stubs"
for c in apt-get curl; do printf '#!/bin/sh\nexit 1\n' >"$tmp/stubs/$c"; chmod +x "$tmp/stubs/$c"; done
fails=0
ma=x86_64-linux-gnu

# A root where every check is satisfied.
full_root() {
  local r=$tmp/$1
  mkdir -p "$r/usr/bin" "$r/usr/include" "$r/usr/lib/$ma/openmpi/include" "$r/usr/lib/llvm-14/lib/clang/14.0.6/include" \
    "$r/usr/lib/python3/dist-packages/pip"
  for c in cc mpirun mpicc pkg-config ip tc python3 curl jq unshare; do
    : >"$r/usr/bin/$c"
    chmod +x "$r/usr/bin/$c"
  done
  : >"$r/usr/include/stdlib.h"
  : >"$r/usr/lib/$ma/openmpi/include/mpi.h"
  : >"$r/usr/lib/llvm-14/lib/libclang.so.1"
  : >"$r/usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h"
  : >"$r/usr/lib/python3/dist-packages/pip/__init__.py"
  echo "$r"
}

needs() {
  env -i PATH="$tmp/stubs:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" HOME="$tmp" SETUP_ROOT="$1" SETUP_MULTIARCH=$ma \
    bash "$SETUP_SH" --print-needs 2>/dev/null | tail -n 1
}

# check NAME ROOT "wanted packages" "unwanted packages"
check() {
  local got w ok=1
  got=" $(needs "$2") "
  for w in $3; do [[ $got == *" $w "* ]] || ok=0; done
  for w in $4; do [[ $got == *" $w "* ]] && ok=0; done
  if [ $ok = 1 ]; then
    echo "ok   $1"
  else
    echo "FAIL $1: asked for [${got# }], wanted [$3], not [$4]"
    fails=$((fails + 1))
  fi
}

# without NAME PATH DESC WANTED UNWANTED: check a full root less PATH (below the root).
without() {
  local r
  r=$(full_root "$1")
  rm -r "${r:?}/$2"
  check "$3" "$r" "$4" "$5"
}

r=$(full_root full)
check "everything present: nothing to install" "$r" "" \
  "build-essential openmpi-bin libopenmpi-dev libclang-dev pkg-config iproute2 python3 python3-pip curl jq util-linux"
[ -z "$(needs "$r")" ] || { echo "FAIL full root asks for [$(needs "$r")]"; fails=$((fails + 1)); }

# (a) libclang-cpp (the C++ library) is not the libclang that bindgen loads.
r=$tmp/cpp-only
mkdir -p "$r/usr/lib/$ma" && : >"$r/usr/lib/$ma/libclang-cpp.so.14"
check "only libclang-cpp.so.14: libclang-dev" "$r" "libclang-dev" ""
r=$(full_root cpp-only-full)
rm "$r/usr/lib/llvm-14/lib/libclang.so.1"
: >"$r/usr/lib/llvm-14/lib/libclang-cpp.so.14"
check "libclang-cpp.so.14 and headers only: libclang-dev" "$r" "libclang-dev" ""

# (b) the llvm-14 libclang with its builtin headers is enough.
r=$tmp/llvm14
mkdir -p "$r/usr/lib/llvm-14/lib/clang/14.0.6/include"
: >"$r/usr/lib/llvm-14/lib/libclang.so.1"
: >"$r/usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h"
check "llvm-14 libclang.so.1 + stddef.h: no libclang-dev" "$r" "" "libclang-dev"

# Debian's real file: the multiarch libclang-14.so.1.
r=$(full_root debian)
rm "$r/usr/lib/llvm-14/lib/libclang.so.1"
mkdir -p "$r/usr/lib/$ma" && : >"$r/usr/lib/$ma/libclang-14.so.1"
check "multiarch libclang-14.so.1 + stddef.h: nothing" "$r" "" "libclang-dev"

# libclang1-14 alone (no libclang-common-14-dev): bindgen fails on 'stddef.h' not found.
without no-headers usr/lib/llvm-14/lib/clang/14.0.6/include/stddef.h \
  "libclang without builtin headers: libclang-dev" "libclang-dev" ""

# openmpi-bin alone has mpirun and mpicc but not mpi.h.
without no-mpi-h "usr/lib/$ma/openmpi/include/mpi.h" \
  "mpicc without mpi.h: libopenmpi-dev" "libopenmpi-dev" "openmpi-bin"
without no-mpicc usr/bin/mpicc "mpi.h and mpirun without mpicc: openmpi-bin" "openmpi-bin" "libopenmpi-dev"

without no-libc-headers usr/include/stdlib.h "cc without libc headers: build-essential" "build-essential" ""

without no-tc usr/bin/tc "ip without tc: iproute2" "iproute2" ""

without no-pip usr/lib/python3/dist-packages/pip \
  "python3 without the pip package: python3-pip" "python3-pip" "python3"

without no-pkg-config usr/bin/pkg-config "no pkg-config: pkg-config" "pkg-config" ""

if [ "$fails" -gt 0 ]; then
  echo "setup-detect-test: $fails case(s) failed"
  exit 1
fi
echo "setup-detect-test: all passed"
