# daemons.sh: what start_local_slurm.sh and stop_local_slurm.sh share (sourced, not run). Daemons are tracked by
# their pid files, and a pid counts only if /proc says it is the expected program: nothing is killed by name.

# is_running PIDFILE COMM: true if the pid file names a live (non-zombie) process called COMM
is_running() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm")" = "$comm" ] || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]
}

# stop_daemon PIDFILE COMM: TERM the process of the pid file (only if it is COMM), wait up to 15 s, then KILL
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
