#!/usr/bin/env bash
# Fetches the vendor Python wheels that carry the NCCL and HCCL/ACL headers (and the real
# libnccl.so.2) into a cache outside the repository, and unpacks only the files the
# project needs. Nothing fetched here is ever committed (the wheels and the paths in them:
# docs/SOURCES.md [nccl-h], [hccl-h], [acl-h]).
#
#   XCCL_VENDOR_CACHE  cache root (default ~/.cache/xccl-bench)
#   NCCL_WHEEL_VERSION nvidia-nccl-cu12 version (default 2.32.3, the one the committed
#                      bindings were generated from)
#   TORCH_NPU_VERSION  torch-npu version (default 2.6.0.post5, likewise)
#   --no-download      use what is cached; never call pip (exit 0 even if missing)
#
# Prints, last, the unpacked roots as shell assignments:
#   NCCL_ROOT=<dir with include/nccl.h and lib/libnccl.so.2>
#   TORCH_NPU_ROOT=<include root: third_party/hccl/inc/hccl/hccl.h, third_party/acl/inc/acl/acl_rt.h>
# and exits 0. A wheel that cannot be had is reported on stderr and its line omitted:
# the tests that need it then skip with a visible message.
set -uo pipefail

CACHE="${XCCL_VENDOR_CACHE:-$HOME/.cache/xccl-bench}"
WHEELS="$CACHE/wheels"
VENDOR="$CACHE/vendor"
NCCL_V="${NCCL_WHEEL_VERSION:-2.32.3}"
NPU_V="${TORCH_NPU_VERSION:-2.6.0.post5}"
DOWNLOAD=1
[ "${1:-}" = "--no-download" ] && DOWNLOAD=0
mkdir -p "$WHEELS" "$VENDOR"

# name-glob pip-requirement
fetch() {
    local glob="$1" req="$2"
    local whl
    whl=$(ls -1 "$WHEELS"/$glob 2>/dev/null | sort | tail -n 1)
    if [ -z "$whl" ] && [ "$DOWNLOAD" = 1 ]; then
        echo "fetch-vendor-wheels: downloading $req into $WHEELS" >&2
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --python-version 3.11 --platform manylinux_2_27_x86_64 \
            --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
            "$req" -d "$WHEELS" >&2 || echo "fetch-vendor-wheels: pip download $req failed" >&2
        whl=$(ls -1 "$WHEELS"/$glob 2>/dev/null | sort | tail -n 1)
    fi
    echo "$whl"
}

# wheel dest strip member...: unpack members (paths or folder prefixes below strip) into
# dest, keeping their paths below strip; done once per version
unpack() {
    local whl="$1" dest="$2"
    shift 2
    if [ -f "$dest/.done" ]; then return 0; fi
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    python3 - "$whl" "$dest.tmp" "$@" <<'PY' || return 1
import sys, zipfile, os
whl, dest, strip, members = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(whl) as z:
    for m in z.infolist():
        for p in members:
            if m.filename.startswith(strip + p) and not m.is_dir():
                out = os.path.join(dest, m.filename[len(strip):])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(m) as src, open(out, "wb") as dst:
                    while True:
                        b = src.read(1 << 20)
                        if not b:
                            break
                        dst.write(b)
PY
    rm -rf "$dest" && mv "$dest.tmp" "$dest" && touch "$dest/.done"
}

nccl_whl=$(fetch "nvidia_nccl_cu12-$NCCL_V-*.whl" "nvidia-nccl-cu12==$NCCL_V")
if [ -n "$nccl_whl" ]; then
    ver=$(basename "$nccl_whl" | cut -d- -f2)
    dest="$VENDOR/nccl-$ver"
    if unpack "$nccl_whl" "$dest" nvidia/nccl/ include/nccl.h lib/libnccl.so.2; then
        NCCL_ROOT="$dest"
    fi
else
    echo "fetch-vendor-wheels: no nvidia-nccl-cu12 wheel in $WHEELS" >&2
fi

npu_whl=$(fetch "torch_npu-$NPU_V-*.whl" "torch-npu==$NPU_V")
if [ -n "$npu_whl" ]; then
    ver=$(basename "$npu_whl" | cut -d- -f2)
    dest="$VENDOR/torch_npu-$ver"
    if unpack "$npu_whl" "$dest" torch_npu/include/ third_party/hccl/inc/ third_party/acl/inc/; then
        TORCH_NPU_ROOT="$dest"
    fi
else
    echo "fetch-vendor-wheels: no torch-npu wheel in $WHEELS" >&2
fi

[ -n "${NCCL_ROOT:-}" ] && echo "NCCL_ROOT=$NCCL_ROOT"
[ -n "${TORCH_NPU_ROOT:-}" ] && echo "TORCH_NPU_ROOT=$TORCH_NPU_ROOT"
exit 0
