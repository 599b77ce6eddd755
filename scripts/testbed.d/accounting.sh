# Job accounting, so `sacct` answers: a private MariaDB and slurmdbd. Sourced by scripts/testbed.
#
# No systemd here, and the packages' own database (/var/lib/mysql, /run/mysqld) is not ours:
# mariadbd runs with --no-defaults on a data dir, socket, pid file and log under $DIR only.
# slurmctld needs accounting_conf_lines in slurm.conf, and register_cluster once slurmdbd is up.

# mariadb-client-core is a dependency of mariadb-server, named because we call its `mariadb`.
ACCOUNTING_PACKAGES=(mariadb-server mariadb-client-core slurmdbd)
DBD_PORT=6819
DBD_ACCOUNT=hpclab

# The socket gets its own directory: mariadbd (user mysql) creates it, slurmdbd (user slurm)
# connects to it, and no one else (the test user) can reach it.
db_rundir() { echo "$DIR/run/mariadb"; }
db_socket() { echo "$DIR/run/mariadb/mariadbd.sock"; }

# As root over the socket: mariadb-install-db made root@localhost a unix_socket account, so no
# password exists for root. SQL comes on stdin, so secrets never show in `ps`.
db_sql() { mariadb --no-defaults --socket="$(db_socket)" --user=root --batch --skip-column-names; }

db_answers() { echo 'SELECT 1' | db_sql >/dev/null 2>&1; }

# Initialise the data dir once, into a temporary dir moved into place at the end: an interrupted
# first `up` leaves no half-made database that later runs would take for a good one.
init_mariadb() {
  local data=$DIR/mariadb
  [ -d "$data/mysql" ] && return 0
  [ ! -e "$data" ] || die "$data exists but holds no MariaDB database: remove it and run up again"
  rm -rf "$data.init"
  install -d -m 0700 -o mysql -g mysql "$data.init"
  # Only root (through its unix socket identity) administers it; no test database, no anonymous user.
  mariadb-install-db --no-defaults --user=mysql --datadir="$data.init" \
    --auth-root-authentication-method=socket --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1 ||
    die "mariadb-install-db failed (see $DIR/log/mariadb-install.log)"
  mv "$data.init" "$data"
}

# mariadbd deletes its own pid file as soon as it starts shutting down; a copy of ours lets
# stop_pidfile wait until the process has really gone.
keep_mariadbd_pid() { cp "$(db_rundir)/mariadbd.pid" "$DIR/run/mariadbd.pid"; }

start_mariadb() {
  local run i
  run=$(db_rundir)
  if db_answers; then keep_mariadbd_pid; return 0; fi
  stop_pidfile "$DIR/run/mariadbd.pid" # a hung one from an earlier run
  # Ownership is set on every start: write_slurm_conf hands $DIR/run and $DIR/log to slurm,
  # recursively, and mariadbd (user mysql) must create its socket and write its log there.
  install -d -m 0750 -o mysql -g slurm "$run"
  rm -f "$run/mariadbd.pid"
  touch "$DIR/log/mariadb.log"
  chown mysql:mysql "$DIR/log/mariadb.log"
  chmod 0640 "$DIR/log/mariadb.log"
  # No TCP at all: slurmdbd reaches it through the socket (MYSQL_UNIX_PORT, see start_slurmdbd).
  # slurmdbd logs "error: Database settings not recommended values" below a 512M buffer pool
  # and a 900 s lock wait; the pool is only touched as used (RSS ~115 MB either way).
  setsid -f /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$DIR/mariadb" \
    --socket="$(db_socket)" --pid-file="$run/mariadbd.pid" --skip-networking \
    --log-error="$DIR/log/mariadb.log" --innodb-buffer-pool-size=512M --innodb-lock-wait-timeout=900 \
    </dev/null >/dev/null 2>&1
  for i in $(seq 1 300); do
    if db_answers; then keep_mariadbd_pid; return 0; fi
    sleep 0.1
  done
  die "mariadbd did not answer after 30 s (see $DIR/log/mariadb.log)"
}

# A stable generated password: the database outlives `down`, so a second `up` must reuse it.
db_password() {
  local f=$DIR/slurmdbd.pass
  if [ ! -s "$f" ]; then
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$f.tmp")
    mv "$f.tmp" "$f"
  fi
  chmod 0600 "$f"
  cat "$f"
}

# Idempotent: ALTER USER keeps the account's password equal to the file's even if it was lost.
create_slurm_db() {
  local pass
  pass=$(db_password)
  db_sql <<EOF2 || die "could not create the slurm database and user (see $DIR/log/mariadb.log)"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF2
}

# slurmdbd refuses a slurmdbd.conf that is not 0600 and owned by SlurmUser; it holds the password.
# slurmdbd reads its config only at start, so a running one is stopped when the file changes.
write_slurmdbd_conf() {
  local conf=$SLURM_ETC/slurmdbd.conf pass
  if [ -f "$conf" ] && ! head -1 "$conf" | grep -qF "$MARK"; then
    die "$conf exists and was not written by the testbed: refusing to overwrite it"
  fi
  pass=$(db_password)
  mkdir -p "$SLURM_ETC"
  install -m 0600 -o slurm -g slurm /dev/null "$conf.tmp"
  # DbdHost=localhost passes slurmdbd's "is this my host" check in either mode; slurmdbd listens
  # on every address of its network namespace, so AccountingStorageHost decides the address.
  cat >"$conf.tmp" <<EOF2
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=slurm
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$pass
EOF2
  if cmp -s "$conf.tmp" "$conf"; then rm -f "$conf.tmp"; return 0; fi
  stop_pidfile "$DIR/run/slurmdbd.pid"
  mv "$conf.tmp" "$conf"
}

dbd_listening() { in_login ss -Hltn "sport = :$DBD_PORT" 2>/dev/null | grep -q .; }

start_slurmdbd() {
  local f=$DIR/run/slurmdbd.pid i
  if pid_alive "$f"; then
    dbd_listening && return 0
    # Alive but not listening in this layout's namespace: left in a namespace that is gone, or
    # stuck; start a fresh one.
    stop_pidfile "$f"
  fi
  rm -f "$f"
  # slurmdbd writes its log as user slurm; $DIR/log may still belong to root on a first up.
  [ -f "$DIR/log/slurmdbd.log" ] || install -m 0640 -o slurm -g slurm /dev/null "$DIR/log/slurmdbd.log"
  # slurmdbd.conf is looked up next to SLURM_CONF. libmariadb takes the socket from
  # MYSQL_UNIX_PORT when StorageHost is localhost (slurmdbd.conf has no socket setting).
  # It runs where slurmctld runs (the login host), so AccountingStorageHost is slurmctld's address.
  SLURM_CONF="$SLURM_ETC/slurm.conf" MYSQL_UNIX_PORT="$(db_socket)" in_login /usr/sbin/slurmdbd ||
    die "slurmdbd did not start (see $DIR/log/slurmdbd.log)"
  # The first start creates the tables before it listens: allow a minute.
  for i in $(seq 1 600); do
    dbd_listening && return 0
    if [ "$i" -gt 20 ] && ! pid_alive "$f"; then break; fi
    sleep 0.1
  done
  die "slurmdbd is not listening on port $DBD_PORT (see $DIR/log/slurmdbd.log)"
}

start_accounting() {
  local t0=$SECONDS
  mkdir -p "$DIR/run" "$DIR/log"
  init_mariadb
  start_mariadb
  create_slurm_db
  write_slurmdbd_conf
  start_slurmdbd
  say "accounting up in $((SECONDS - t0)) s (slurmdbd on port $DBD_PORT)"
}

# slurmdbd first: it flushes to the database on the way down.
stop_accounting() {
  stop_pidfile "$DIR/run/slurmdbd.pid"
  stop_pidfile "$DIR/run/mariadbd.pid"
  rm -f "$(db_rundir)/mariadbd.pid"
}

accounting_running() {
  pid_alive "$DIR/run/mariadbd.pid" && pid_alive "$DIR/run/slurmdbd.pid" && dbd_listening
}

# For slurm.conf, in place of accounting_storage/none and jobacct_gather/none. The comment is
# stored because hpclab tags its jobs with --comment; GPUs are tracked so history can show them;
# a 1 s task sampling gives short test jobs a MaxRSS at all (the default samples every 30 s).
accounting_conf_lines() {
  cat <<EOF2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$CTLD_ADDR
AccountingStoragePort=$DBD_PORT
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
EOF2
}

acct_mgr() { SLURM_CONF="$SLURM_ETC/slurm.conf" in_login sacctmgr "$@"; }

# `sacctmgr add` of something that exists fails, so look first; a failed look is an error, not
# "missing" (it would only turn into a confusing failure of the add).
acct_missing() {
  local out
  out=$(acct_mgr -n -P list "$@") || die "sacctmgr list $1 failed: is slurmdbd up? (see $DIR/log/slurmdbd.log)"
  [ -z "$out" ]
}

# The cluster (ClusterName of slurm.conf), an account and the test user in it, each only when
# missing, so a second up changes nothing. sacctmgr talks to slurmdbd only: this needs slurmdbd
# up and slurm.conf written, not slurmctld (which would add the cluster itself when it starts).
# No AccountingStorageEnforce, so users outside the account (root, others) still run jobs.
register_cluster() {
  local cluster
  cluster=$(sed -n 's/^ClusterName=//p' "$SLURM_ETC/slurm.conf")
  [ -n "$cluster" ] || die "no ClusterName in $SLURM_ETC/slurm.conf"
  if acct_missing cluster "name=$cluster" format=cluster; then
    acct_mgr -i add cluster "$cluster" >/dev/null || die "sacctmgr could not add cluster $cluster"
  fi
  if acct_missing association "cluster=$cluster" "account=$DBD_ACCOUNT" format=account; then
    acct_mgr -i add account "$DBD_ACCOUNT" "cluster=$cluster" "description=hpclab testbed" "organization=hpclab" >/dev/null ||
      die "sacctmgr could not add account $DBD_ACCOUNT"
  fi
  local user
  for user in "$TB_USER" "$TB_PROBE_USER"; do
    if acct_missing association "cluster=$cluster" "account=$DBD_ACCOUNT" "user=$user" format=user; then
      acct_mgr -i add user "$user" "account=$DBD_ACCOUNT" "cluster=$cluster" "defaultaccount=$DBD_ACCOUNT" >/dev/null ||
        die "sacctmgr could not add user $user to account $DBD_ACCOUNT"
    fi
  done
}
