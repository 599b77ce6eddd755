# Helpers shared by the testbed's parts. Sourced by scripts/testbed.

say() { echo "testbed: $*" >&2; }
die() { echo "testbed: $*" >&2; exit 1; }
require_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts slurmd, sshd and munged)"; }

# A killed daemon lingers as a zombie until PID 1 reaps it, so read its state, not `kill -0`.
pid_alive() {
  local f=$1 pid state
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$state" != Z ] && [ "$state" != X ]
}

# Stop the process named by a pid file: TERM, then KILL after 10 s; remove the stale file.
stop_pidfile() {
  local f=$1 i
  if pid_alive "$f"; then
    kill -TERM "$(cat "$f")" 2>/dev/null || true
    for i in $(seq 1 100); do pid_alive "$f" || break; sleep 0.1; done
    pid_alive "$f" && kill -KILL "$(cat "$f")" 2>/dev/null || true
    for i in $(seq 1 50); do pid_alive "$f" || break; sleep 0.1; done
  fi
  rm -f "$f"
}

# What the cluster runs: Slurm, the login node's sshd, and Jupyter (hpclab's JupyterLab needs
# jupyterlab_server) for sessions and kernels on the node; and what the tests use beside it:
# nbclient (a Jupyter client through a tunnel URL), nc (a gateway's ProxyCommand), build,
# hatchling and venv (the wheel test builds hpclab's wheel offline and installs it in a venv).
PACKAGES=(munge slurmctld slurmd slurm-client openssh-server openssh-client iproute2 procps
  util-linux python3 python3-ipykernel r-cran-irkernel python3-jupyter-client python3-jupyter-server
  python3-jupyterlab-server python3-nbclient netcat-openbsd python3-build python3-hatchling
  python3-venv zstd lz4 python3-dill)

install_packages() { "$here/need-debian-packages" "${PACKAGES[@]}"; }

# The test users: normal accounts that can log in with a key only.
ensure_user() {
  local user
  for user in "$TB_USER" "$TB_PROBE_USER"; do
    id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
    # useradd leaves the account locked ('!'), and sshd without PAM refuses locked accounts.
    usermod -p '*' "$user"
  done
}

# A fresh slurmctld (-c) forgets every job, so the session dirs an earlier run left in the user's
# cluster home describe jobs that no longer exist: start the cluster side from nothing too.
reset_user_state() {
  local home
  home=$(getent passwd "$TB_USER" | cut -d: -f6)
  [ -n "$home" ] && [ "$home" != / ] || return 0
  rm -rf "$home/.hpclab/sessions"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_works && return 0
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  [ -f /etc/munge/munge.key ] || { /usr/sbin/mungekey -c -f -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; }
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$DIR/run/munged.pid"
  local i
  for i in $(seq 1 50); do munge_works && return 0; sleep 0.1; done
  die "munged did not start (see /var/log/munge/munged.log)"
}

# Only stop munged if this script started it: a machine's own munge stays.
stop_munge() {
  [ -f "$DIR/run/munged.pid" ] || return 0
  stop_pidfile "$DIR/run/munged.pid"
  rm -f /run/munge/munged.pid
}
