#!/bin/sh
# Open MPI fork agent of the emulated rail cluster (scripts/emu-cluster.sh run passes
# `--mca orte_fork_agent` and XCCL_EMU_RANK_NICS): binds each rank to its device's NIC, the
# way a rail cluster binds one rank per GPU to the NIC beside it. Local rank d runs on
# device d (mod the devices per node) and gets word d of XCCL_EMU_RANK_NICS (the interface
# of NIC device_nic[d]) as its btl_tcp_if_include; Open MPI reads OMPI_MCA_* from the
# environment at MPI_Init (docs/SOURCES.md [openmpi-41], "Setting MCA parameters"), and
# anything the rank runs on MPI (the NCCL/HCCL stand-ins' send/recv) rides the same NIC.
# Then execs the rank's command.
lr=${OMPI_COMM_WORLD_LOCAL_RANK:-0}
set -f
# shellcheck disable=SC2086
set -- $XCCL_EMU_RANK_NICS -- "$@"
n=0
for w in "$@"; do
    [ "$w" = -- ] && break
    n=$((n + 1))
done
if [ "$n" -gt 0 ]; then
    i=$((lr % n))
    eval "nic=\${$((i + 1))}"
    OMPI_MCA_btl_tcp_if_include=$nic
    XCCL_EMU_NIC=$nic
    export OMPI_MCA_btl_tcp_if_include XCCL_EMU_NIC
fi
while [ "$1" != -- ]; do shift; done
shift
exec "$@"
