#!/usr/bin/env bash
# The binary launched by Slurm's srun (PMIx), as users of Slurm clusters do:
# every collective with several types, every op and every root, 2 and 3 ranks, -c 1,
# must report 0 wrong, and the header must show the ranks srun started.
# And Slurm's topology.conf: `topo export --slurm` of a two-leaf topology (this host and
# five more nodes, declared in slurm.conf as FUTURE) is the file the Slurm started here
# loads (TopologyPlugin=topology/tree); `scontrol show topology` must list exactly its
# switches, levels, nodes and child switches, and `topo import` of the loaded file must give
# the same grouping back (and export to the same file).
# Needs root and Slurm (slurmd, slurmctld, munge, srun); starts a one-node Slurm when none
# answers (tests/slurm/start-local-slurm.sh) and stops it at exit. Exit 0 pass, 1 fail, 77
# skipped (also when a Slurm was running already: its topology is not ours to replace).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v srun >/dev/null && command -v slurmd >/dev/null || { echo "SKIP: Slurm not installed" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start Slurm" >&2; exit 77; }
BIN=${XCCL_BENCH:-target/debug/xccl-bench}
[ -x "$BIN" ] || cargo build -q --bin xccl-bench
H=$(hostname -s)
TOPO_DIR=$(mktemp -d /tmp/xccl-slurm-topo.XXXXXX)
sed "s/@HOST@/$H/g" tests/slurm/cluster.toml >"$TOPO_DIR/cluster.toml"
"$BIN" topo export "$TOPO_DIR/cluster.toml" --slurm "$TOPO_DIR/topology.conf" \
    || { echo "FAIL: topo export --slurm"; rm -rf "$TOPO_DIR"; exit 1; }
own_slurm=0
trap 'rm -rf "$TOPO_DIR"' EXIT
if ! sinfo -h -o %T 2>/dev/null | grep -E "idle|mixed|alloc" >/dev/null; then
    # Stop what we start, on failure and on ^C too; a Slurm that answered already is left
    # alone (this branch is not taken for it, and stop touches only what start recorded).
    trap 'bash tests/slurm/stop-local-slurm.sh; rm -rf "$TOPO_DIR"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    XCCL_SLURM_TOPOLOGY=$TOPO_DIR/topology.conf XCCL_SLURM_EXTRA_NODES="xccl-sn[01-05]" \
        bash tests/slurm/start-local-slurm.sh >/dev/null 2>&1 || true
    if ! sinfo -h -o %T 2>/dev/null | grep -E "idle|mixed|alloc" >/dev/null; then
        echo "SKIP: could not start a local Slurm here:" >&2
        tail -n 5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 2>/dev/null || true
        exit 77
    fi
    own_slurm=1
fi
fail=0
for n in 2 3; do
    failed_before=$fail; fail=0
    for coll in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv gather scatter; do
        out=$(timeout 120 srun --mpi=pmix -n "$n" "$BIN" "$coll" -b 8 -e 1000 -f 125 -d int8,bfloat16,float -o all -r all -n 2 -w 1 -c 1 2>&1) \
            || { echo "FAIL: srun -n $n $coll exited non-zero"; echo "$out" | tail -5; fail=1; continue; }
        grep -q "# Out of bounds values : 0 OK" <<<"$out" || { echo "FAIL: srun -n $n $coll: wrong elements"; fail=1; continue; }
        grep -q "# Ranks: $n on " <<<"$out" || { echo "FAIL: srun -n $n $coll: not $n ranks"; echo "$out" | grep Ranks; fail=1; continue; }
    done
    ((fail)) || echo "ok: srun --mpi=pmix -n $n: every collective, 0 wrong"
    ((fail |= failed_before)) || true
done

# One line per switch of `scontrol show topology`, its hostlists expanded by Slurm itself
# and sorted: NAME level=L nodes=A,B switches=C,D.
normalize() {
    local line name level nodes switches kv
    while read -r line; do
        name="" level="" nodes="" switches=""
        for kv in $line; do
            case $kv in
                SwitchName=*) name=${kv#*=} ;;
                Level=*) level=${kv#*=} ;;
                Nodes=*) nodes=$(scontrol show hostnames "${kv#*=}" | sort | paste -sd,) ;;
                Switches=*) switches=$(scontrol show hostnames "${kv#*=}" | sort | paste -sd,) ;;
            esac
        done
        if [ -n "$name" ]; then echo "$name level=$level nodes=$nodes switches=$switches"; fi
    done | sort
}
sorted() { printf '%s\n' "$@" | sort | paste -sd,; }
if ((own_slurm == 0)); then
    echo "SKIP: topology.conf: a Slurm was running already; its topology is not ours to replace" >&2
    ((fail)) && exit 1
    exit 77
fi
# What tests/slurm/cluster.toml declares, written out by hand (Slurm: leaves are level 0, and a
# switch lists every node below it).
want=$(printf '%s\n' \
    "leaf-a level=0 nodes=$(sorted "$H" xccl-sn01 xccl-sn02) switches=" \
    "leaf-b level=0 nodes=xccl-sn03,xccl-sn04,xccl-sn05 switches=" \
    "spine level=1 nodes=$(sorted "$H" xccl-sn0{1..5}) switches=leaf-a,leaf-b" | sort)
got=$(scontrol show topology | normalize)
if [[ $got == "$want" ]]; then
    echo "ok: slurmctld loaded the exported topology.conf: ${got//$'\n'/; }"
else
    echo "FAIL: scontrol show topology:"; echo "$got"; echo "want:"; echo "$want"
    scontrol show topology; fail=1
fi
# Round trip through the file slurmctld loaded: the same grouping, the same file.
"$BIN" topo import /etc/slurm/topology.conf --node topologies/dgx-h100.toml -o "$TOPO_DIR/imported.toml" \
    || { echo "FAIL: topo import of the loaded topology.conf"; exit 1; }
grouping() { "$BIN" topo show "$1" | sed -n 's/^  switch *\([^;]*\).*/\1/p'; }
if [[ $(grouping "$TOPO_DIR/imported.toml") == "$(grouping "$TOPO_DIR/cluster.toml")" ]] \
    && [[ -n $(grouping "$TOPO_DIR/cluster.toml") ]]; then
    echo "ok: topo import of it: the same switches, tiers and nodes ($(grouping "$TOPO_DIR/cluster.toml" | paste -sd'|'))"
else
    echo "FAIL: topo import gave another grouping:"; grouping "$TOPO_DIR/imported.toml"; fail=1
fi
if diff <(grep -v '^#' /etc/slurm/topology.conf) \
    <("$BIN" topo export "$TOPO_DIR/imported.toml" --slurm - | grep -v '^#'); then
    echo "ok: topo export of the imported file is the loaded topology.conf again"
else
    echo "FAIL: export(import(topology.conf)) differs (above)"; fail=1
fi
exit $fail
