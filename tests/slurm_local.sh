#!/bin/bash
# osteosim's single-node SLURM helper, used by tests/test_sweeps.py: it starts slurmctld and slurmd
# on localhost (Debian bookworm slurm-wlm 22.05 + munge) with their config in a scratch directory,
# so that the hydra-submitit-launcher submitit_slurm path runs against a real scheduler.
#   apt-get install -y --no-install-recommends slurm-wlm munge      (as root)
#   bash tests/slurm_local.sh start [DIR]    -> prints the SLURM_CONF to export
#   SLURM_CONF=DIR/slurm.conf osteosim -m hydra/launcher=submitit_slurm \
#       hydra.launcher.partition=debug hydra.launcher.cpus_per_task=1 hydra.launcher.mem_gb=1 \
#       hydra.launcher.timeout_min=5 arm=baseline,mifamurtide seed=0,1
#   bash tests/slurm_local.sh stop [DIR]
# submitit may log sacct errors ("accounting storage is disabled"); they are harmless, it falls back.
set -e
CMD=${1:-start}
D=${2:-${TMPDIR:-/tmp}/osteosim-slurm}
H=$(hostname -s)
NCPU=$(nproc)
if [ "$CMD" = start ]; then
  mkdir -p "$D"/{state,spool,log}
  cat > "$D/slurm.conf" <<CONF
ClusterName=osteolocal
SlurmctldHost=$H
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
NodeName=$H CPUs=$NCPU RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /run/munge && chown munge:munge /run/munge
  pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
  sleep 1
  slurmctld -f "$D/slurm.conf"; sleep 2
  slurmd -f "$D/slurm.conf"; sleep 2
  SLURM_CONF="$D/slurm.conf" sinfo
  echo "export SLURM_CONF=$D/slurm.conf"
else
  for p in slurmd slurmctld; do [ -f "$D/$p.pid" ] && kill "$(cat "$D/$p.pid")" || true; done
  echo "stopped slurmd/slurmctld (munged left running; stop it by its pid if you started it)"
fi
