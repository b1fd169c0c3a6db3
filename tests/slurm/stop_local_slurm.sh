#!/usr/bin/env bash
# stop_local_slurm.sh: stop the daemons tests/slurm/start_local_slurm.sh started. Each daemon is stopped only
# through its own pid file, and only if that pid really is the expected program (/proc/PID/comm): nothing is
# killed by name. SLURM_PURGE_STATE=1 also wipes the slurmctld/slurmd state (jobs, node drain reasons).
set -uo pipefail
log() { echo "[stop_local_slurm $(date +%T)] $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

source "$(dirname "$0")/daemons.sh"

stop_daemon /run/slurm/slurmd.pid slurmd
stop_daemon /run/slurm/slurmctld.pid slurmctld
stop_daemon /run/munge/munged.pid munged

if [ "${SLURM_PURGE_STATE:-0}" = 1 ]; then
  log "purging slurm state dirs"
  rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
fi
log "done"
