# Start and stop a private one-node Slurm cluster (slurmctld + slurmd +
# munged with their own socket, ports and state under $tmp).  Source this
# file; call slurm_up (sets SLURM_CONF, or exits 77 with the reason) and
# let the caller's EXIT trap call slurm_down.  SLURM_CPUS declares more
# CPUs than the machine has (for latency-bound benchmarks).
skip() { echo "SKIP: $*"; exit 77; }

slurm_up() {
  [ "$(id -u)" -eq 0 ] || skip "starting slurmctld/slurmd here needs root"
  for b in slurmctld slurmd sbatch squeue scontrol sinfo munged munge; do
    command -v "$b" >/dev/null ||
      skip "$b not installed (apt-get install slurm-wlm munge)"
  done
  chmod 755 "$tmp"  # munged (user munge) must reach its files
  mkdir -p "$tmp/munge" "$tmp/slurm/state" "$tmp/slurm/spool"
  chown munge:munge "$tmp/munge" 2>/dev/null || true
  [ -f /etc/munge/munge.key ] || skip "no munge key at /etc/munge/munge.key"
  runuser -u munge -- munged --socket="$tmp/munge/sock" \
    --pid-file="$tmp/munge/pid" --log-file="$tmp/munge/log" \
    --seed-file="$tmp/munge/seed" 2>/dev/null || skip "munged did not start"
  local host ctlport
  host=$(hostname)
  ctlport=$((17000 + RANDOM % 2000))
  cat > "$tmp/slurm/slurm.conf" <<CONF
ClusterName=assaytest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/sock
StateSaveLocation=$tmp/slurm/state
SlurmdSpoolDir=$tmp/slurm/spool
SlurmctldPidFile=$tmp/slurm/slurmctld.pid
SlurmdPidFile=$tmp/slurm/slurmd.pid
SlurmctldLogFile=$tmp/slurm/slurmctld.log
SlurmdLogFile=$tmp/slurm/slurmd.log
SlurmctldPort=$ctlport
SlurmdPort=$((ctlport + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerParameters=sched_interval=2,bf_interval=1
SlurmdParameters=config_overrides
NodeName=$host CPUs=${SLURM_CPUS:-$(nproc)} State=UNKNOWN
PartitionName=assay Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$tmp/slurm/slurm.conf"
  slurmctld -f "$SLURM_CONF" || skip "slurmctld did not start"
  slurmd -f "$SLURM_CONF" || skip "slurmd did not start"
  for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.5
  done
  sinfo -h -o %T | grep -q idle || skip "the Slurm node did not become idle"
  echo "slurm: one-node cluster up on $host:$ctlport"
}

slurm_down() {
  local f
  for f in slurmd slurmctld; do
    [ -f "$tmp/slurm/$f.pid" ] && kill "$(cat "$tmp/slurm/$f.pid")" 2>/dev/null
  done
  [ -f "$tmp/munge/pid" ] && kill "$(cat "$tmp/munge/pid")" 2>/dev/null
  sleep 0.5
  return 0
}
