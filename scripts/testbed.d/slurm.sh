# Slurm: config, start, stop, readiness. Sourced by scripts/testbed.

write_slurm_conf() {
  if [ -f "$SLURM_ETC/slurm.conf" ] && ! head -1 "$SLURM_ETC/slurm.conf" | grep -qF "$MARK"; then
    die "$SLURM_ETC/slurm.conf exists and was not written by the testbed: refusing to overwrite it"
  fi
  mkdir -p "$SLURM_ETC" "$DIR/slurm/state" "$DIR/slurm/spool"
  chown -R slurm:slurm "$DIR/slurm/state" "$DIR/log" "$DIR/run"
  # Fake GPUs: character devices make slurmd set CUDA_VISIBLE_DEVICES; plain files would not.
  local i
  for i in 0 1; do
    [ -c "$DIR/dev/fakegpu$i" ] || { rm -f "$DIR/dev/fakegpu$i"; mknod "$DIR/dev/fakegpu$i" c 195 "$i"; }
  done
  cat >"$SLURM_ETC/slurm.conf.tmp" <<EOF2
$MARK
ClusterName=hpclab-testbed
SlurmctldHost=$(hostname -s)($CTLD_ADDR)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$DIR/slurm/state
SlurmdSpoolDir=$DIR/slurm/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No cgroups here: track processes by parent and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Lets CPUs=8 exceed the real cores so 8 one-CPU jobs run at once.
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
$(accounting_conf_lines)
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MpiDefault=none
SlurmdTimeout=60
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=$NODE_ADDR CPUs=8 RealMemory=8000 Gres=gpu:fake:2 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE MaxTime=INFINITE State=UP
EOF2
  cat >"$SLURM_ETC/gres.conf.tmp" <<EOF2
$MARK
AutoDetect=off
NodeName=$NODE Name=gpu Type=fake File=$DIR/dev/fakegpu[0-1]
EOF2
  mv "$SLURM_ETC/slurm.conf.tmp" "$SLURM_ETC/slurm.conf"
  mv "$SLURM_ETC/gres.conf.tmp" "$SLURM_ETC/gres.conf"
}

start_slurm() {
  rm -f "$DIR/run/slurmctld.pid" "$DIR/run/slurmd.pid"
  # -c: start from a clean job table, so every `up` gives the same empty cluster.
  in_login /usr/sbin/slurmctld -c || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  start_slurmd
}

start_slurmd() {
  if [ -n "$COMPUTE_NS" ]; then
    # ip netns exec remounts /sys, which makes slurmd fail its cgroup checks: use nsenter, and
    # a UTS namespace so the node's processes see the node's own hostname.
    nsenter --net="/run/netns/$COMPUTE_NS" unshare --uts sh -c 'hostname "$1" && exec /usr/sbin/slurmd -N "$1"' sh "$NODE" ||
      die "slurmd did not start (see $DIR/log/slurmd.log)"
  else
    /usr/sbin/slurmd || die "slurmd did not start (see $DIR/log/slurmd.log)"
  fi
}

stop_slurm() {
  stop_pidfile "$DIR/run/slurmd.pid"
  stop_pidfile "$DIR/run/slurmctld.pid"
}

node_line() { sinfo -h -N -o '%N %P %t %G' 2>/dev/null | tr '\n' ' '; }

node_ready() {
  local s
  s=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null | head -1)
  case "$s" in idle | mix | alloc | comp) return 0 ;; *) return 1 ;; esac
}

wait_node_ready() {
  local i s
  for i in $(seq 1 600); do
    node_ready && return 0
    s=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null | head -1 || true)
    # A node that registered as down or drained after an unclean stop is brought back.
    case "$s" in down* | drain* | drng*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;; esac
    sleep 0.1
  done
  die "node $NODE not ready after 60 s (state '$s'; see $DIR/log/slurmctld.log and slurmd.log)"
}
