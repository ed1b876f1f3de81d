#!/bin/sh
# OpenMPI launch agent for the emulated cluster (scripts/emu-cluster.sh), standing in for
# ssh: mpirun runs `emu-agent.sh HOST COMMAND...`; the command runs inside network
# namespace HOST with its own UTS namespace whose hostname is HOST, so each rank sees a
# distinct node (docs/TOPOLOGY.md, "The emulated cluster"). Like ssh, the words of COMMAND
# are joined and run by sh.
# Leading ssh-style options (-x, -o ...) are skipped.
while [ $# -gt 0 ]; do
    case $1 in
        -o) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: emu-agent.sh HOST COMMAND..." >&2; exit 255; }
host=$1
shift
[ -e "/var/run/netns/$host" ] || { echo "emu-agent: no emulated node '$host' (is the cluster up?)" >&2; exit 255; }
exec ip netns exec "$host" unshare --uts -- sh -c 'hostname "$1" || exit 255; shift; eval "$*"' emu-agent "$host" "$@"
