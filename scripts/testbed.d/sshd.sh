# The login node's sshd and two jump hosts in front of it (for ProxyJump chains). Sourced by
# scripts/testbed.

ssh_keys() {
  local s=$DIR/ssh home
  chmod 0700 "$s"
  [ -f "$s/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C hpclab-testbed-host -f "$s/host_ed25519"
  [ -f "$s/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C hpclab-testbed-user -f "$s/id_ed25519"
  [ -f "$s/id_probe" ] || ssh-keygen -q -t ed25519 -N '' -C hpclab-testbed-probe -f "$s/id_probe"
  home=$(getent passwd "$TB_USER" | cut -d: -f6)
  install -d -m 0700 -o "$TB_USER" -g "$TB_USER" "$home/.ssh"
  install -m 0600 -o "$TB_USER" -g "$TB_USER" "$s/id_ed25519.pub" "$home/.ssh/authorized_keys"
  home=$(getent passwd "$TB_PROBE_USER" | cut -d: -f6)
  install -d -m 0700 -o "$TB_PROBE_USER" -g "$TB_PROBE_USER" "$home/.ssh"
  install -m 0600 -o "$TB_PROBE_USER" -g "$TB_PROBE_USER" "$s/id_probe.pub" "$home/.ssh/authorized_keys"
  # One host key for every sshd; clients verify it strictly from this file.
  local key
  key=$(cut -d' ' -f1,2 "$s/host_ed25519.pub")
  {
    echo "[127.0.0.1]:$SSH_PORT_SINGLE $key"
    echo "[127.0.0.1]:$JUMP1_PORT $key"
    echo "[127.0.0.1]:$JUMP2_PORT $key"
    echo "$NET_LOGIN.2 $key"
  } >"$s/known_hosts"
  chmod 0600 "$s/known_hosts"
}

write_sshd_conf() {
  local name=$1 addr=$2 port=$3
  # MaxSessions stays at OpenSSH's default of 10, as on real login nodes: the client must
  # cap its own concurrent channels below it.
  cat >"$DIR/ssh/sshd-$name.conf" <<EOF2
ListenAddress $addr
Port $port
HostKey $DIR/ssh/host_ed25519
PidFile $DIR/run/sshd-$name.pid
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
AllowUsers $TB_USER $TB_PROBE_USER
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
AllowAgentForwarding no
X11Forwarding no
MaxSessions 10
MaxStartups 100:30:200
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF2
  /usr/sbin/sshd -t -f "$DIR/ssh/sshd-$name.conf" || die "bad sshd config for $name"
}

start_sshds() {
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
  write_sshd_conf login "$SSH_HOST" "$SSH_PORT"
  write_sshd_conf jump1 127.0.0.1 "$JUMP1_PORT"
  write_sshd_conf jump2 127.0.0.1 "$JUMP2_PORT"
  in_login /usr/sbin/sshd -f "$DIR/ssh/sshd-login.conf" -E "$DIR/log/sshd-login.log"
  /usr/sbin/sshd -f "$DIR/ssh/sshd-jump1.conf" -E "$DIR/log/sshd-jump1.log"
  /usr/sbin/sshd -f "$DIR/ssh/sshd-jump2.conf" -E "$DIR/log/sshd-jump2.log"
  local i
  for i in $(seq 1 50); do
    pid_alive "$DIR/run/sshd-login.pid" && pid_alive "$DIR/run/sshd-jump1.pid" && pid_alive "$DIR/run/sshd-jump2.pid" && return 0
    sleep 0.1
  done
  die "sshd did not start (see $DIR/log/sshd-*.log)"
}

stop_sshds() {
  local n
  for n in login jump1 jump2; do
    # Connections are served by children of the listener; end them too.
    if pid_alive "$DIR/run/sshd-$n.pid"; then pkill -TERM -P "$(cat "$DIR/run/sshd-$n.pid")" 2>/dev/null || true; fi
    stop_pidfile "$DIR/run/sshd-$n.pid"
  done
}
