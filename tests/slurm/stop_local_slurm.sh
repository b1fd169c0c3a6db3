#!/usr/bin/env bash
# stop_local_slurm.sh: stop the daemons tests/slurm/start_local_slurm.sh started. Each daemon is stopped only
# through its own pid file, and only if that pid really is the expected program (/proc/PID/comm): nothing is
# killed by name. SLURM_PURGE_STATE=1 also wipes the slurmctld/slurmd state (jobs, node drain reasons).
set -uo pipefail
log() { echo "[stop_local_slurm $(date +%T)] $*" >&2; }
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

is_running() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm")" = "$comm" ] || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]
}
stop_daemon() {
  local pf=$1 comm=$2 pid i
  if ! is_running "$pf" "$comm"; then log "$comm not running"; return 0; fi
  pid=$(cat "$pf")
  log "stopping $comm (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do is_running "$pf" "$comm" || { rm -f "$pf"; return 0; }; sleep 0.25; done
  log "$comm did not exit after 15s -> SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pf"
}

stop_daemon /run/slurm/slurmd.pid slurmd
stop_daemon /run/slurm/slurmctld.pid slurmctld
stop_daemon /run/munge/munged.pid munged

if [ "${SLURM_PURGE_STATE:-0}" = 1 ]; then
  log "purging slurm state dirs"
  rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*
fi
log "done"
