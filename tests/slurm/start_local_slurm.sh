#!/usr/bin/env bash
# start_local_slurm.sh: a one-node SLURM cluster on this Debian machine, for Agon's SLURM test and for trying
# profiles/slurm without a real cluster. Adapted from the probe in ../shared/notes/slurm (written for Agon).
#
# No systemd needed: the daemons start directly and are tracked by their pid files. Idempotent: installs only
# missing packages (apt-get), rewrites configs only when they change, restarts daemons only when a config changed
# or a daemon is down, and waits until a real one-task job runs. No accounting database: job status comes from
# squeue, which needs MinJobAge >= 3 x the executor plugin's init seconds (profiles set 2 s; MinJobAge is 300).
# A fake GPU (a gres backed by /dev/null) lets GPU-tagged jobs be scheduled on a machine without one.
#
# Must run as root. Talks to loopback only (plus apt for the install). tests/slurm/stop_local_slurm.sh stops it.
#
# Environment knobs:
#   SLURM_FAKE_GPUS=N          fake GPUs on the node (default 1, 0 = none; N>1: clones of /dev/null)
#   SLURM_PARTITION=debug      partition name (the default partition)
#   SLURM_CLUSTER=localcluster ClusterName
#   SLURM_MIN_JOB_AGE=300      seconds finished jobs stay visible to squeue
#   SLURM_TASK_PLUGIN=task/none
#   SLURM_WAIT_TIMEOUT=90      seconds to wait for the node
set -euo pipefail

log() { echo "[setup_local_slurm $(date +%T)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

FAKE_GPUS=${SLURM_FAKE_GPUS:-1}
PARTITION=${SLURM_PARTITION:-debug}
CLUSTER=${SLURM_CLUSTER:-localcluster}
MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-300}
WAIT=${SLURM_WAIT_TIMEOUT:-90}
TASK_PLUGIN=${SLURM_TASK_PLUGIN:-task/none}
T_START=$(date +%s)

# ---------------------------------------------------------------- 1. packages
pkgs=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "packages installed after $(( $(date +%s) - T_START ))s"
fi

# ---------------------------------------------------------------- helpers
# is_running PIDFILE COMM : true if the pid file names a live (non-zombie) process called COMM
is_running() {
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm")" = "$comm" ] || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]
}
# stop_daemon PIDFILE COMM : TERM the process from the pid file (only if it is COMM), wait, then KILL
stop_daemon() {
  local pf=$1 comm=$2 pid i
  is_running "$pf" "$comm" || return 0
  pid=$(cat "$pf")
  log "stopping $comm (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 40); do is_running "$pf" "$comm" || return 0; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
}
CHANGED=0
# write_if_changed PATH MODE OWNER:GROUP  (content on stdin)
write_if_changed() {
  local dst=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp)
  cat > "$tmp"
  if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then
    chmod "$mode" "$dst"; chown "$owner" "$dst"; rm -f "$tmp"
  else
    install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$tmp" "$dst"
    rm -f "$tmp"; CHANGED=1; log "wrote $dst"
  fi
}

# ---------------------------------------------------------------- 2. host name
H=$(hostname -s)
if ! getent hosts "$H" >/dev/null; then
  log "adding '127.0.0.1 $H' to /etc/hosts"
  echo "127.0.0.1 $H" >> /etc/hosts
fi

# ---------------------------------------------------------------- 3. dirs + munge key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating munge key"
  mungekey --create --keyfile=/etc/munge/munge.key --force
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
install -d -o slurm -g slurm -m 0755 /run/slurm /var/lib/slurm /var/lib/slurm/slurmctld /var/log/slurm
install -d -o root -g root -m 0755 /var/lib/slurm/slurmd /etc/slurm

# ---------------------------------------------------------------- 4. slurm.conf / gres.conf
# Node topology from slurmd -C (CPUs/Boards/Sockets/Cores/Threads); memory at 90% of what
# slurmd sees so the node never registers with "Low RealMemory".
NODE_HW=$(slurmd -C | head -1)
REALMEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODE_HW")
CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$NODE_HW")
NODE_LINE=$(sed "s/RealMemory=[0-9]*/RealMemory=$(( REALMEM * 9 / 10 ))/" <<<"$NODE_HW")
NODE_LINE="$NODE_LINE NodeAddr=127.0.0.1"
[ "$FAKE_GPUS" -gt 0 ] && NODE_LINE="$NODE_LINE Gres=gpu:${FAKE_GPUS}"
ACCT_LINES='AccountingStorageType=accounting_storage/none'

write_if_changed /etc/slurm/slurm.conf 0644 root:root <<EOF
# generated by setup_local_slurm.sh -- single-node test cluster
ClusterName=${CLUSTER}
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# container/VM safe: no cgroup plugins (no cgroup.conf, no writable cgroupfs needed)
ProctrackType=proctrack/linuxproc
TaskPlugin=${TASK_PLUGIN}
JobAcctGatherType=jobacct_gather/linux
${ACCT_LINES}
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default, a job with no --mem gets the whole node's memory (jobs then serialise)
DefMemPerCPU=1024
ReturnToService=2
# finished jobs stay in squeue --states=all this long (plugin's squeue status mode needs it)
MinJobAge=${MIN_JOB_AGE}
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MpiDefault=none
SwitchType=switch/none
GresTypes=gpu
${NODE_LINE} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${H} Default=YES MaxTime=INFINITE State=UP
EOF

if [ "$FAKE_GPUS" = 1 ]; then
  # A gpu gres without File= is reported as count 0 by slurmd -> node INVAL.
  # /dev/null is a character device, so it is accepted as the "GPU" device file.
  GRES_LINE="NodeName=${H} Name=gpu File=/dev/null"
elif [ "$FAKE_GPUS" -gt 1 ]; then
  # one distinct device file per GPU is required; clone /dev/null (c 1 3)
  install -d -m 0755 /var/lib/slurm/fakegpu
  for ((g = 0; g < FAKE_GPUS; g++)); do
    [ -c /var/lib/slurm/fakegpu/gpu$g ] || mknod -m 0666 /var/lib/slurm/fakegpu/gpu$g c 1 3
  done
  GRES_LINE="NodeName=${H} Name=gpu File=/var/lib/slurm/fakegpu/gpu[0-$(( FAKE_GPUS - 1 ))]"
else
  GRES_LINE="# no fake GPUs"
fi
write_if_changed /etc/slurm/gres.conf 0644 root:root <<EOF
AutoDetect=off
${GRES_LINE}
EOF

# ---------------------------------------------------------------- 5. munged
if ! is_running /run/munge/munged.pid munged; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged
fi
for i in $(seq 1 40); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.25; done
munge -n | unmunge >/dev/null || die "munge round trip failed"

# ---------------------------------------------------------------- 7. slurmctld + slurmd
if [ "$CHANGED" = 1 ]; then
  stop_daemon /run/slurm/slurmd.pid slurmd
  stop_daemon /run/slurm/slurmctld.pid slurmctld
fi
if ! is_running /run/slurm/slurmctld.pid slurmctld; then log "starting slurmctld"; slurmctld; fi
for i in $(seq 1 80); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.25; done
if ! is_running /run/slurm/slurmd.pid slurmd; then log "starting slurmd"; slurmd; fi

# ---------------------------------------------------------------- 8. wait for the node
state=""
for i in $(seq 1 $(( WAIT * 2 ))); do
  state=$(sinfo -h -n "$H" -o %T 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    drain*|drained|down|inval) # stale state from StateSaveLocation or an earlier bad config
      log "node is '$state' -> resume"
      scontrol update nodename="$H" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
     die "node $H not usable (state '$state')" ;;
esac
# sinfo may report the node 'idle' from saved state before slurmd has registered:
# a real one-task job is the definitive readiness probe.
timeout 60 srun -N1 -n1 -t 1 --mem=10 true || die "srun probe failed"
sinfo -N -o "%N %P %T %c %m %G" >&2
log "SLURM ready on $H (fake_gpus=$FAKE_GPUS) in $(( $(date +%s) - T_START ))s"
