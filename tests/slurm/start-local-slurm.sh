#!/usr/bin/env bash
# Starts a one-node Slurm (munge, slurmctld, slurmd) on this machine for tests/slurm-test.sh,
# as root. The node claims 4 CPUs (config_overrides) so small jobs can oversubscribe.
# Writes /etc/slurm/slurm.conf: meant for CI machines and throwaway VMs only.
# With XCCL_SLURM_TOPOLOGY=FILE it installs FILE as /etc/slurm/topology.conf with
# TopologyPlugin=topology/tree, and XCCL_SLURM_EXTRA_NODES=HOSTLIST declares those nodes
# (State=FUTURE: named for the topology, never started) so that the file's names exist.
# Records in $XCCL_SLURM_STATE (default /run/xccl-local-slurm) each daemon it starts and each
# file it writes, before doing it, so that tests/slurm/stop-local-slurm.sh undoes exactly
# that, even after a start that failed half-way. Daemons already running are left out.
set -euo pipefail
STATE=${XCCL_SLURM_STATE:-/run/xccl-local-slurm}
[ ! -e "$STATE" ] || { echo "start-local-slurm: $STATE exists: a local Slurm is already started (stop it with tests/slurm/stop-local-slurm.sh)" >&2; exit 1; }
mkdir -p "$STATE"
H=$(hostname -s)
# slurmd reaches slurmctld by this name. The marker lets stop remove exactly this line.
if ! getent hosts "$H" >/dev/null; then
  touch "$STATE/hosts-line"
  echo "127.0.0.1 $H # xccl-local-slurm" >>/etc/hosts
fi
for d in /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge; do
  [ -e "$d" ] || { echo "$d" >>"$STATE/created-dirs"; mkdir -p "$d"; }
done
# Log files in a directory that was already there (the slurm packages create it).
for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
  [ -e "$f" ] || echo "$f" >>"$STATE/created-files"
done
[ ! -e /etc/slurm/slurm.conf ] || cp -p /etc/slurm/slurm.conf "$STATE/slurm.conf.orig"
TOPOLOGY_LINE="" EXTRA_NODES=""
if [ -n "${XCCL_SLURM_TOPOLOGY:-}" ]; then
  [ ! -e /etc/slurm/topology.conf ] || cp -p /etc/slurm/topology.conf "$STATE/topology.conf.orig"
  touch "$STATE/topology.conf-written"
  cp "$XCCL_SLURM_TOPOLOGY" /etc/slurm/topology.conf
  TOPOLOGY_LINE="TopologyPlugin=topology/tree"
fi
[ -z "${XCCL_SLURM_EXTRA_NODES:-}" ] || EXTRA_NODES="NodeName=$XCCL_SLURM_EXTRA_NODES CPUs=1 State=FUTURE"
touch "$STATE/slurm.conf-written"
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=xccltest
SlurmctldHost=$H
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ReturnToService=2
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=$H CPUs=4 State=UNKNOWN
$EXTRA_NODES
$TOPOLOGY_LINE
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
if [ ! -f /etc/munge/munge.key ]; then
  touch "$STATE/munge-key-written"
  [ -d /etc/munge ] || { echo /etc/munge >>"$STATE/created-dirs"; mkdir -p /etc/munge; }
  mungekey -c 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true

# Starts daemon $1 with the rest of the line unless one runs already; records the new pids.
start_daemon() {
  local name=$1
  shift
  pgrep -x "$name" >/dev/null && return 0
  echo "$name" >>"$STATE/started"
  "$@"
  sleep 0.5
  pgrep -x "$name" >>"$STATE/pids" || true
}
start_daemon munged sh -c 'su -s /bin/sh munge -c munged || munged --force'
start_daemon slurmctld slurmctld
start_daemon slurmd slurmd
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -E "idle|mixed" >/dev/null && break
  sleep 1
done
sinfo
