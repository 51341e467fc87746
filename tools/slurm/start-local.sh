#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on this machine (Debian/Ubuntu, as root),
# for trying `deno task sweep --launcher slurm` and for voxlab's SLURM tests.
#
#   sudo tools/slurm/start-local.sh          # install if missing, configure, start
#
# Idempotent: when `sinfo` already shows an idle node it does nothing. Every wait
# is bounded; a failure prints one line naming the step and the log to read.
# The node gets this machine's CPU count and memory; the partition is `debug`.
set -euo pipefail

say() { echo "slurm: $*"; }
fail() { echo "slurm: FAILED: $*" >&2; exit 1; }

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -1; }

# A trailing '*' means the node does not respond (no slurmd): not up.
state=$(node_state || true)
case "$state" in
idle | mixed | allocated)
  say "already up (node $state)"
  exit 0
  ;;
esac

[ "$(id -u)" = 0 ] || fail "starting a local cluster needs root (run with sudo)"

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  say "installing slurm-wlm and munge with apt-get"
  timeout 300 apt-get update -qq >/tmp/voxlab-slurm-apt.log 2>&1 ||
    fail "apt-get update (see /tmp/voxlab-slurm-apt.log)"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq slurm-wlm munge \
    >>/tmp/voxlab-slurm-apt.log 2>&1 || fail "apt-get install slurm-wlm munge (see /tmp/voxlab-slurm-apt.log)"
fi

cpus=$(nproc)
# Leave 1 GiB to the system; SLURM's RealMemory is in MiB.
mem=$(($(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024))
[ "$mem" -gt 1024 ] || mem=1024
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<CONF
# Written by voxlab tools/slurm/start-local.sh: a single-node cluster for tests.
ClusterName=voxlab
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
KillWait=10
MinJobAge=300
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key readable only by the munge user, then the daemon as that user.
if [ ! -s /etc/munge/munge.key ]; then
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
fi
for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.2; done
[ -S /run/munge/munge.socket.2 ] || fail "munged socket did not appear within 10 s"

# Start what is not running (again if a daemon was on its way out), until the node is idle.
for _ in $(seq 60); do
  pgrep -x slurmctld >/dev/null || slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
  pgrep -x slurmd >/dev/null || slurmd -N localhost || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"
  state=$(node_state || true)
  case "$state" in
  idle | mixed | allocated) break ;;
  # Left down or drained by an earlier run (e.g. killed daemons): put it back in service.
  down* | drain* | fail*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
case "$state" in
idle | mixed | allocated) say "up: node localhost $state, $cpus CPUs, $mem MiB, partition debug" ;;
*) fail "node not idle after 30 s (state '${state:-none}'; see /var/log/slurm/slurmctld.log and slurmd.log)" ;;
esac
