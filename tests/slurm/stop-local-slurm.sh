#!/usr/bin/env bash
# Undoes what tests/slurm/start-local-slurm.sh recorded in $XCCL_SLURM_STATE: stops the
# daemons it started (not ones that were running before), restores /etc/slurm/slurm.conf and
# topology.conf, removes the munge key, /etc/hosts line and directories it created. Does nothing without
# that record, so a Slurm this machine had already is never touched.
set -uo pipefail
STATE=${XCCL_SLURM_STATE:-/run/xccl-local-slurm}
[ -d "$STATE" ] || exit 0

# pid $1 still the daemon $2? (A pid may have been reused since it was recorded.)
is_daemon() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# slurmd before slurmctld before munged: each needs the next one to shut down cleanly.
for name in slurmd slurmctld munged; do
  grep -qx "$name" "$STATE/started" 2>/dev/null || continue
  case $name in
    slurmd) pidfile=/run/slurmd.pid ;;
    slurmctld) pidfile=/run/slurmctld.pid ;;
    munged) pidfile=/run/munge/munged.pid ;;
  esac
  pids=$( (cat "$STATE/pids" "$pidfile" 2>/dev/null) | sort -u)
  for pid in $pids; do is_daemon "$pid" "$name" && kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in $pids; do is_daemon "$pid" "$name" && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in $pids; do is_daemon "$pid" "$name" && kill -KILL "$pid" 2>/dev/null; done
  rm -f "$pidfile"
done

if [ -e "$STATE/slurm.conf.orig" ]; then
  cp -p "$STATE/slurm.conf.orig" /etc/slurm/slurm.conf
elif [ -e "$STATE/slurm.conf-written" ]; then
  rm -f /etc/slurm/slurm.conf
fi
if [ -e "$STATE/topology.conf.orig" ]; then
  cp -p "$STATE/topology.conf.orig" /etc/slurm/topology.conf
elif [ -e "$STATE/topology.conf-written" ]; then
  rm -f /etc/slurm/topology.conf
fi
[ ! -e "$STATE/munge-key-written" ] || rm -f /etc/munge/munge.key
if [ -e "$STATE/hosts-line" ]; then
  # Rewritten in place, not renamed: /etc/hosts is often a bind mount in containers.
  kept=$(grep -v ' # xccl-local-slurm$' /etc/hosts)
  printf '%s\n' "$kept" >/etc/hosts
fi
if [ -e "$STATE/created-files" ]; then
  while read -r f; do rm -f -- "$f"; done <"$STATE/created-files"
fi
# Deepest first; what it created (spool state, logs) goes with it.
if [ -e "$STATE/created-dirs" ]; then
  sort -r "$STATE/created-dirs" | while read -r d; do rm -rf -- "$d"; done
fi
rm -rf -- "$STATE"
