/*
 * The job's private directory for its sockets on the node (issue: nothing on a compute node that
 * another cluster user can connect to). The Lab's unix socket and the kernels' ZMQ ipc sockets
 * live there; only the relay, a step of the same job run as the same user, connects to them.
 *
 * Node-local /tmp, not the session directory: a unix socket's path holds at most 107 bytes, and
 * the Lab's own kernels add ~52 (`rt/kernel-<uuid>-ipc-5`) to it; sockets on NFS or GPFS are
 * often refused; containers (Apptainer, Charliecloud) share the host's /tmp by default.
 */

/** What the companion accepts as a socket directory from a file the job wrote. */
export const SOCKET_DIR_PATTERN = /^\/(?!.*\/\.\.?(?:\/|$))[A-Za-z0-9._/-]{1,80}$/;
/** What it accepts as the relay's python (an absolute path found by `command -v`). */
export const RELAY_PYTHON_PATTERN = /^\/(?!.*\/\.\.?(?:\/|$))[A-Za-z0-9._/+-]{1,200}$/;

/**
 * Sets `hpclab_sock_dir` (made 0700 by mktemp, removed when the script exits) and
 * `hpclab_relay_python` (a python 3 for the relay, which needs only the standard library).
 * Exit 5 when either is missing.
 */
export function socketDirLines(options: { removeOnExit: boolean }): string[] {
  return [
    '',
    "# A private (0700) directory on the node for this job's sockets: nothing listens on TCP.",
    'hpclab_sock_dir=$(mktemp -d /tmp/hpclab.XXXXXXXXXX) && [ -O "$hpclab_sock_dir" ] &&',
    '  [ "$(stat -c %a "$hpclab_sock_dir")" = 700 ] ||',
    "  { builtin printf 'hpclab: cannot make a private directory in /tmp for the job'\"'\"'s sockets\\n' >&2; exit 5; }",
    ...(options.removeOnExit ? ['trap \'rm -rf "$hpclab_sock_dir"\' EXIT', "trap 'exit 0' TERM HUP INT"] : []),
    'hpclab_relay_python=$(command -v python3 || command -v python || command -v /usr/libexec/platform-python)',
    "hpclab_re_python='^/[A-Za-z0-9._/+-]{1,200}$'",
    'if ! [[ $hpclab_relay_python =~ $hpclab_re_python ]]; then',
    '  builtin printf \'hpclab: no python3 on the node for the relay that carries its sockets (or set nodeChannels: "tcp" for the cluster)\\n\' >&2; exit 5',
    'fi',
    ''
  ];
}
