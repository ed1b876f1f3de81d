#!/usr/bin/env bash
# The NCCL backend on a real GPU: every collective on one GPU, 8 B to 1 GB, with a data
# check (-c 1), JSON per collective; then `links --backend nccl` on all GPUs (needs
# mpirun there). Two steps:
#
#   scripts/gpu-check.sh --prepare   here (has Rust): builds the release binary without
#                                    MPI and strips it into .gpu/xccl-bench (git-ignored)
#   scripts/gpu-check.sh             on the GPU machine (no Rust, no MPI), with .gpu
#                                    carried: runs, writes everything to $OUT
#
# On the GPU machine libnccl.so.2 comes from the Python environment's nvidia-nccl-cu12
# wheel (the one PyTorch uses) unless XCCL_NCCL_LIB is already set. Every command run is
# printed and kept in $OUT/commands.txt; $OUT/summary.txt has one line per run.
#   XCCL_BIN         binary to run (default .gpu/xccl-bench)
#   GPU_CHECK_MAX    largest size (default 1G)
#   GPU_CHECK_TIMEOUT seconds per collective (default 240)
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    set -e
    cargo build --release --no-default-features --bin xccl-bench
    mkdir -p .gpu
    cp target/release/xccl-bench .gpu/xccl-bench
    strip .gpu/xccl-bench 2>/dev/null || true
    # With MPI, for `links` (one rank per GPU): runs where the GPU machine has Open MPI.
    cargo build --release --bin xccl-bench --target-dir target/gpu-mpi
    cp target/gpu-mpi/release/xccl-bench .gpu/xccl-bench-mpi
    strip .gpu/xccl-bench-mpi 2>/dev/null || true
    ls -l .gpu/xccl-bench .gpu/xccl-bench-mpi
    echo "carry .gpu, then run scripts/gpu-check.sh on the GPU machine"
    exit 0
fi

BIN="${XCCL_BIN:-.gpu/xccl-bench}"
OUT="${OUT:-$PWD/.gpu/out}"
MAX="${GPU_CHECK_MAX:-1G}"
TMO="${GPU_CHECK_TIMEOUT:-240}"
mkdir -p "$OUT"
: > "$OUT/commands.txt"
: > "$OUT/summary.txt"
log() { echo "[gpu-check] $*" | tee -a "$OUT/summary.txt"; }

if [ ! -x "$BIN" ]; then
    log "no binary at $BIN (run scripts/gpu-check.sh --prepare here and carry .gpu)"
    exit 1
fi

if [ -z "${XCCL_NCCL_LIB:-}" ]; then
    for py in python3 python; do
        d=$("$py" - 2>/dev/null <<'PY'
import os
try:
    import nvidia.nccl as m
    for p in list(getattr(m, "__path__", [])) + [os.path.dirname(getattr(m, "__file__", "") or "")]:
        f = os.path.join(p, "lib", "libnccl.so.2")
        if os.path.isfile(f):
            print(f)
            break
except Exception:
    pass
PY
)
        if [ -n "$d" ]; then export XCCL_NCCL_LIB="$d"; break; fi
    done
fi
if [ -z "${XCCL_NCCL_LIB:-}" ]; then
    # Newer wheels (e.g. CUDA 13 builds) lay libraries out differently: search the
    # Python environment's prefix for the file itself.
    prefix=$(python3 -c 'import sys; print(sys.prefix)' 2>/dev/null)
    f=$(find "${prefix:-/nonexistent}" /usr/local/lib /usr/lib -name 'libnccl.so.2*' 2>/dev/null | head -n 1)
    [ -n "$f" ] && export XCCL_NCCL_LIB="$f"
fi
log "XCCL_NCCL_LIB=${XCCL_NCCL_LIB:-<unset: the binary searches itself>}"
{ nvidia-smi -L; nvidia-smi --query-gpu=name,pci.bus_id,driver_version,memory.total --format=csv; } \
    > "$OUT/nvidia-smi.txt" 2>&1 || true
ngpu=$(grep -c '^GPU' "$OUT/nvidia-smi.txt" 2>/dev/null)
ngpu=${ngpu:-0}
log "GPUs: $ngpu ($(head -n 1 "$OUT/nvidia-smi.txt"))"
if ! "$BIN" --version > "$OUT/version.txt" 2>&1; then
    log "binary does not start here:"; cat "$OUT/version.txt"; ldd "$BIN" 2>&1 | tee -a "$OUT/summary.txt"; exit 1
fi
"$BIN" list > "$OUT/list.txt" 2>&1
log "list: $(grep -i 'nccl' "$OUT/list.txt" | head -n 1 | sed 's/^ *//')"

run() { # name, then the arguments after the binary
    local name="$1"; shift
    local cmd=("$BIN" "$@")
    echo "+ ${cmd[*]}" | tee -a "$OUT/commands.txt"
    local t0=$SECONDS
    timeout "$TMO" "${cmd[@]}" > "$OUT/$name.txt" 2> "$OUT/$name.err"
    local rc=$?
    local ok; ok=$(grep -h 'Out of bounds values' "$OUT/$name.txt" | sed 's/^# *//')
    local bw; bw=$(grep -h 'Avg bus bandwidth' "$OUT/$name.txt" | sed 's/^# *//')
    log "$name rc=$rc $((SECONDS - t0))s | ${ok:-no summary} | ${bw:-} $( [ $rc -ne 0 ] && head -c 300 "$OUT/$name.err" | tr '\n' ' ')"
}

for c in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv gather scatter; do
    run "$c" "$c" --backend nccl -b 8 -e "$MAX" -f 2 -w 5 -n 20 -c 1 --json "$OUT/$c.json"
done
# Blocking mode and CUDA-graph capture, smaller sweep.
run all_reduce_blocking all_reduce --backend nccl -b 8 -e 64M -f 4 -w 5 -n 20 -c 1 -z 1 --json "$OUT/all_reduce_blocking.json"
run all_reduce_graph all_reduce --backend nccl -b 8 -e 64M -f 4 -w 5 -n 20 -c 1 -G 1 --json "$OUT/all_reduce_graph.json"
run types_all all_reduce --backend nccl -b 1K -e 1M -f 32 -w 2 -n 5 -c 1 -d all -o all --json "$OUT/types_all.json"
if [ "$ngpu" -ge 2 ]; then
    run all_reduce_g2 all_reduce --backend nccl -g 2 -b 8 -e 256M -f 4 -w 5 -n 20 -c 1 --json "$OUT/all_reduce_g2.json"
fi
# Issue 16 item 6: `links --backend nccl` on every GPU of this machine (the intra-node
# device pairs, NVLink/NVSwitch), one rank per GPU. `links` needs a job of several ranks:
# it runs only where mpirun and an MPI build of the binary (.gpu/xccl-bench-mpi, built by
# --prepare) start here; otherwise it says so and this step fails (nothing is invented).
# Results: $OUT/links.{txt,json}; copy them under docs/gpu-runs/ with the date and card.
MPIBIN="${XCCL_MPI_BIN:-.gpu/xccl-bench-mpi}"
if [ "$ngpu" -ge 2 ] && command -v mpirun >/dev/null && [ -x "$MPIBIN" ] && "$MPIBIN" --version >/dev/null 2>&1; then
    # The machine as one node (XCCL_GPU_TOPOLOGY overrides): its GPUs behind NVSwitch at
    # the H100/H200 datasheet rate (450 GB/s one direction per GPU, NVLink4), one NIC per
    # GPU (the NIC rate does not enter intra-node pairs). The sysfs view is kept beside it.
    "$MPIBIN" topo show --json "$OUT/detected.json" > "$OUT/detected.txt" 2>&1 || true
    topo="${XCCL_GPU_TOPOLOGY:-$OUT/links-topology.toml}"
    if [ -z "${XCCL_GPU_TOPOLOGY:-}" ]; then
        printf '%s\n' 'version = 1' "name = \"gpu-check\"" "hosts = [\"$(hostname)\"]" \
            '[node]' "devices = $ngpu" '[node.fabric]' 'kind = "nvswitch"' 'bw_gbs = 450.0' \
            '[node.nic]' "count = $ngpu" 'rate_gbps = 400.0' 'transport = "rdma"' > "$topo"
    fi
    echo "+ mpirun -np $ngpu $MPIBIN links --backend nccl --topology $topo --json $OUT/links.json" | tee -a "$OUT/commands.txt"
    t0=$SECONDS
    timeout "$TMO" mpirun --allow-run-as-root -np "$ngpu" "$MPIBIN" links --backend nccl \
        --topology "$topo" --size 64M -n 8 --json "$OUT/links.json" > "$OUT/links.txt" 2> "$OUT/links.err"
    rc=$?
    log "links --backend nccl on $ngpu GPUs rc=$rc $((SECONDS - t0))s | $(grep -h '^finding\|no finding' "$OUT/links.txt" | head -n 3 | tr '\n' ' ')"
elif [ "$ngpu" -ge 2 ]; then
    log "links --backend nccl: NOT RUN: needs mpirun and $MPIBIN on this machine ($(command -v mpirun || echo 'no mpirun'))"
    nfail_links=1
else
    log "links --backend nccl: not applicable: $ngpu GPU(s), intra-node pairs need 2 or more"
fi
log "done; results in $OUT"
[ "${nfail_links:-0}" = 0 ]
