#!/usr/bin/env bash
# Regenerates the committed bindgen output of the sys crates from the real vendor headers:
#   sys/nccl-sys/src/bindings.rs  from nccl.h (nvidia-nccl-cu12 wheel)
#   sys/hccl-sys/src/{acl,hccl}.rs from acl.h/acl_rt.h and hccl.h (torch-npu wheel)
# The headers come from scripts/fetch-vendor-wheels.sh's cache (never from the repo).
# Needs libclang (apt: libclang-dev). The tests sys/*/tests/bindings_current.rs fail
# when the committed files differ from what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/fetch-vendor-wheels.sh)"
[ -n "${NCCL_ROOT:-}" ] && NCCL_INCLUDE_DIR="$NCCL_ROOT/include" cargo run -q -p nccl-sys --example regen
[ -n "${TORCH_NPU_ROOT:-}" ] && TORCH_NPU_INCLUDE_DIR="$TORCH_NPU_ROOT" cargo run -q -p hccl-sys --example regen
git status --short -- sys/*/src
