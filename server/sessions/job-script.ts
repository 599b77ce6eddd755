import { CONFIG_DEFAULTS, type ProfileConfig } from '../config/schema';
import type { SubmitOptions } from '../scheduler/types';
import { quoteWord, renderRemoteCommand } from '../transport/quote';
import { assertOneLine, renderEnvActivation } from './env-activation';
import { KERNEL_BOOTSTRAP } from '../kernels/kernel-bootstrap';
import { LAB_SOCKET, RENDEZVOUS_FILE } from './rendezvous';
import { socketDirLines } from './socket-dir';
import { restoreFunctionLines } from '../workspace/scripts';
import type { WorkspaceConfig } from '../config/schema';
import type { SessionOverrides } from './types';

/*
 * The batch script of a "Lab on a node" session, and its sbatch options.
 *
 * The script runs on the compute node, where other cluster users may be logged in too, so
 * (docs/ARCHITECTURE.md, "Security model") the server's token is made there from /dev/urandom
 * and travels only through shell variables, builtins (printf, export), the 0600 rendezvous file
 * and the server's environment (JUPYTER_TOKEN): never in this text, never in any process's
 * argv, which every user can read with ps. Everything hpclab renders from values goes through
 * quote.ts; the text is LF-only so nothing edited on Windows reaches the cluster as CRLF.
 *
 * Exit codes before the server starts: 3 environment, 4 address or port, 5 token or files,
 * 6 a jupyter_server too old to listen on a unix socket.
 *
 * By default (`nodeChannels: "relay"`) the server listens on a 0600 unix socket in the job's
 * private directory (socket-dir.ts) and its kernels on ZMQ ipc there: no TCP port on the node.
 * With `nodeChannels: "tcp"` it listens on a port of the node's address, as before.
 */

export interface LabJobScriptInput {
  sessionId: string;
  /** Where the companion proxies the server: `/hpclab/node/<id>/`. */
  baseUrl: string;
  /** Absolute path on the cluster; the companion made it 0700. */
  sessionDir: string;
  profile: ProfileConfig;
  /** The job has a GPU (Apptainer/Singularity then get --nv). */
  gpu: boolean;
  /** How the companion reaches the server (default `relay`: a unix socket, no TCP port). */
  nodeChannels?: 'relay' | 'tcp';
}

/** jupyter_server learnt `sock` in 1.9; an older one ignores the flag and would listen on TCP. */
const SOCK_VERSION_GATE =
  'import re,sys; from jupyter_server import __version__ as v; m=re.match(r"(\\d+)\\.(\\d+)", v); sys.exit(0 if m and (int(m.group(1)), int(m.group(2))) >= (1, 9) else 1)';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE_URL = /^\/(?:[A-Za-z0-9_.~-]+\/)*$/;

function checkInput(input: { sessionId: string; sessionDir: string; baseUrl?: string }): string {
  if (!SESSION_ID.test(input.sessionId))
    throw new TypeError(`session id must be 1-64 letters, digits, "_" or "-": ${JSON.stringify(input.sessionId)}`);
  if (input.baseUrl !== undefined && !BASE_URL.test(input.baseUrl))
    throw new TypeError(`base URL must be a path starting and ending with "/": ${JSON.stringify(input.baseUrl)}`);
  const dir = input.sessionDir.replace(/\/+$/, '');
  if (!dir.startsWith('/') || /[\x00-\x1f\x7f]/.test(dir))
    throw new TypeError(
      `session directory must be an absolute path without control characters: ${JSON.stringify(input.sessionDir)}`
    );
  return dir;
}

/** Whether a gres request asks for GPUs (Apptainer/Singularity then need --nv). */
export function requestsGpu(gres: string | undefined): boolean {
  return /(^|,)gpu(:|$)/.test(gres ?? '');
}

/** Picks a free port on the node's address; the server binds it moments later with port_retries=0. */
const PICK_PORT =
  'import socket,sys; a=sys.argv[1]; s=socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET); s.bind((a,0)); print(s.getsockname()[1])';

/** Sets `hpclab_addr`: the address the login node reaches this node at (Slurm's NodeAddr, else the FQDN), checked. */
export function nodeAddressLines(): string[] {
  return [
    '',
    "# The address the login node reaches this node at: Slurm's NodeAddr, else the FQDN.",
    'hpclab_addr=',
    "hpclab_re_nodeaddr='(^|[[:space:]])NodeAddr=([^[:space:]]+)'",
    'if [ -n "${SLURMD_NODENAME:-}" ] && hpclab_node_line=$(scontrol show node -o "$SLURMD_NODENAME" 2>/dev/null) &&',
    '    [[ $hpclab_node_line =~ $hpclab_re_nodeaddr ]]; then',
    '  hpclab_addr=${BASH_REMATCH[2]}',
    'fi',
    'if [ -z "$hpclab_addr" ]; then hpclab_addr=$(hostname -f 2>/dev/null || hostname); fi',
    "hpclab_re_host='^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$'",
    "hpclab_re_ipv6='^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$'",
    'if ! [[ $hpclab_addr =~ $hpclab_re_host || $hpclab_addr =~ $hpclab_re_ipv6 ]]; then',
    '  builtin printf \'hpclab: cannot use "%s" as the address of this node\\n\' "$hpclab_addr" >&2; exit 4',
    'fi',
    ''
  ];
}

/** The part of the script after the environment: where the server listens, token, rendezvous, server. */
function renderRendezvousAndExec(
  input: LabJobScriptInput,
  sessionDir: string,
  exec: string[],
  python: string[]
): string[] {
  const command = input.profile.command ?? CONFIG_DEFAULTS.command;
  command.forEach((word, i) => assertOneLine(`profile.command[${i}]`, word));
  const relay = (input.nodeChannels ?? 'relay') === 'relay';
  // jupyter_server's flags, the same for `jupyter lab`, `jupyter server` and
  // `python -m jupyter_server`, 1.x and 2.x. No token flag: JUPYTER_TOKEN carries it.
  const server = renderRemoteCommand([
    ...exec,
    ...command,
    '--no-browser',
    ...(relay ? [] : ['--ServerApp.port_retries=0']),
    `--ServerApp.base_url=${input.baseUrl}`,
    '--ServerApp.allow_remote_access=True',
    ...(relay ? ['--ServerApp.sock_mode=0600', '--KernelManager.transport=ipc'] : [])
  ]);
  const fail = (code: number, message: string) =>
    `{ builtin printf 'hpclab: %s\\n' ${quoteWord(message)} >&2; exit ${code}; }`;
  const where = relay
    ? [
        ...socketDirLines({ removeOnExit: false }),
        `if ! ${renderRemoteCommand([...python, '-c', SOCK_VERSION_GATE])}; then`,
        `  rm -rf "$hpclab_sock_dir"; ${fail(6, 'the environment needs jupyter_server 1.9 or newer to listen on a private unix socket; or set nodeChannels: "tcp" for the cluster to use a TCP port that every cluster user can reach')}`,
        'fi'
      ]
    : [
        ...nodeAddressLines(),
        '',
        "# A free port, with the environment's own python (it is there, whatever else is not).",
        `hpclab_port=$(${renderRemoteCommand([...python, '-c', PICK_PORT])} "$hpclab_addr")`,
        'if ! [[ $hpclab_port =~ ^[0-9]{1,5}$ ]] || [ "$hpclab_port" -lt 1 ] || [ "$hpclab_port" -gt 65535 ]; then',
        `  ${fail(4, "could not pick a free port with the environment's python (see above)")}`,
        'fi'
      ];
  const rendezvous = relay
    ? [
        'if ! { builtin printf \'{"version":2,"sessionId":"%s","socketDir":"%s","socket":"%s","relayPython":"%s","token":"%s","node":"%s","jobId":"%s","pid":%s}\\n\' \\',
        `    ${quoteWord(input.sessionId)} "$hpclab_sock_dir" ${LAB_SOCKET} "$hpclab_relay_python" "$hpclab_token" "$hpclab_node" "$hpclab_job" "$$" >"$hpclab_tmp" &&`
      ]
    : [
        'if ! { builtin printf \'{"version":1,"sessionId":"%s","host":"%s","port":%s,"token":"%s","node":"%s","jobId":"%s","pid":%s}\\n\' \\',
        `    ${quoteWord(input.sessionId)} "$hpclab_addr" "$hpclab_port" "$hpclab_token" "$hpclab_node" "$hpclab_job" "$$" >"$hpclab_tmp" &&`
      ];
  return [
    ...where,
    '',
    '# 256 random bits as hex, made here; only builtins see it (no argv, no script text).',
    "hpclab_token=$(od -An -vtx1 -N32 /dev/urandom | tr -d ' \\n')",
    `[[ $hpclab_token =~ ^[0-9a-f]{64}$ ]] || ${fail(5, 'could not read 32 random bytes from /dev/urandom')}`,
    'hpclab_node=${SLURMD_NODENAME:-}',
    '[[ $hpclab_node =~ ^[A-Za-z0-9_.-]*$ ]] || hpclab_node=',
    'hpclab_job=${SLURM_JOB_ID:-}',
    '[[ $hpclab_job =~ ^[0-9]*$ ]] || hpclab_job=',
    '',
    '# The rendezvous file, 0600, written whole and renamed so a reader never sees half of it.',
    `hpclab_rendezvous="$hpclab_session_dir"/${RENDEZVOUS_FILE}`,
    'hpclab_tmp="$hpclab_session_dir/.rendezvous.$$.tmp"',
    ...rendezvous,
    '    chmod 600 "$hpclab_tmp" && mv -f "$hpclab_tmp" "$hpclab_rendezvous"; }; then',
    `  rm -f "$hpclab_tmp"; ${fail(5, 'could not write the rendezvous file')}`,
    'fi',
    '',
    relay
      ? "# Runtime files (kernel connection files, ipc sockets) in the job's private directory: short paths."
      : '# Runtime files (kernel connection files) in the 0700 session directory, not a shared /tmp.',
    relay
      ? 'export JUPYTER_RUNTIME_DIR="$hpclab_sock_dir/rt"'
      : 'export JUPYTER_RUNTIME_DIR="$hpclab_session_dir/runtime"',
    `mkdir -p -m 700 "$JUPYTER_RUNTIME_DIR" || ${fail(5, 'could not create the runtime directory')}`,
    'export JUPYTER_TOKEN="$hpclab_token"',
    'unset hpclab_token',
    // jupyter_server 2 reads JUPYTER_PORT, and refuses a port together with a socket.
    ...(relay ? ['unset JUPYTER_PORT', ...labKernelspecLines(python.at(-1) ?? 'python3', fail)] : []),
    '',
    "# exec: the server takes this shell's pid, so Slurm's signals reach it directly.",
    relay
      ? `exec ${server} "--ServerApp.sock=$hpclab_sock_dir/${LAB_SOCKET}"`
      : `exec ${server} "--ip=$hpclab_addr" "--port=$hpclab_port"`
  ];
}

/**
 * The Lab's default `python3` kernel, started through the bootstrap that keeps ipykernel's
 * output pipe off TCP (kernel-bootstrap.ts): first on JUPYTER_PATH, so it wins over the stock
 * spec. Kernels of other kernelspecs the user installed start as those specs say.
 */
function labKernelspecLines(python: string, fail: (code: number, message: string) => string): string[] {
  const spec = JSON.stringify({
    argv: [python, '-c', KERNEL_BOOTSTRAP, '-f', '{connection_file}'],
    display_name: 'Python 3 (ipykernel)',
    language: 'python',
    metadata: { debugger: true }
  });
  return [
    'hpclab_spec_dir="$hpclab_sock_dir/share/kernels/python3"',
    `mkdir -p -m 700 "$hpclab_spec_dir" && builtin printf '%s\\n' ${quoteWord(spec)} >"$hpclab_spec_dir/kernel.json" ||`,
    `  ${fail(5, 'could not write the Lab kernelspec')}`,
    'export JUPYTER_PATH="$hpclab_sock_dir/share${JUPYTER_PATH:+:$JUPYTER_PATH}"'
  ];
}

/**
 * The scratch workspace at the start of a job: the newest backup restored onto the node before
 * anything opens there (its result in `workspace-restore.json` of the session directory, its
 * words in the job log), then `cd` into it, so a Lab opens in the workspace. No backup yet: an
 * empty workspace. The values are quoted words; the function expands `$VAR`s itself.
 */
export function workspaceStartLines(ws: WorkspaceConfig | undefined): string[] {
  if (!ws) return [];
  const dir = quoteWord(ws.dir);
  return [
    '',
    '# The scratch workspace: the newest backup restored before anything opens here.',
    ...restoreFunctionLines(),
    'builtin printf \'{"restoring":true}\\n\' >"$hpclab_session_dir/workspace-restore.json"',
    `if ! hpclab_ws_result=$(hpclab_workspace_restore ${dir} ${quoteWord(ws.backupDir)} ''); then`,
    "  builtin printf 'hpclab: %s\\n' 'could not restore the workspace (see above); its backups are untouched' >&2; exit 3",
    'fi',
    'builtin printf \'%s\\n\' "$hpclab_ws_result" >"$hpclab_session_dir/workspace-restore.json"',
    `hpclab_ws_dir=$(hpclab_workspace_dir ${dir}) && cd "$hpclab_ws_dir" || exit 3`,
    ''
  ];
}

/** The whole batch script, LF line endings only. */
export function renderLabJobScript(input: LabJobScriptInput): string {
  const sessionDir = checkInput(input);
  const env = renderEnvActivation(input.profile.env, { gpu: input.gpu });
  const lines = [
    '#!/bin/bash',
    `# hpclab session ${input.sessionId}: Jupyter on a compute node, proxied at ${input.baseUrl}`,
    "# Rendered by hpclab. The server's token is made on the node and is not in this file.",
    'umask 077',
    `hpclab_session_dir=${quoteWord(sessionDir)}`,
    '',
    "# The environment (and the profile's setup lines).",
    ...env.lines,
    ...workspaceStartLines(input.profile.workspace),
    ...renderRendezvousAndExec(input, sessionDir, env.exec, env.python)
  ];
  for (const line of lines) assertOneLine('a job script line', line);
  return `${lines.join('\n')}\n`;
}

export interface LabSubmitInput {
  sessionId: string;
  sessionDir: string;
  /** The user's home on the cluster: the job's working directory, so Lab opens there. */
  homeDir: string;
  profile: ProfileConfig;
  overrides?: SessionOverrides;
}

/** The Slurm fields of a profile, with `overrides` winning; unset ones are left out. */
export function profileSubmitFields(profile: ProfileConfig, overrides: SessionOverrides = {}): SubmitOptions {
  const fields: SubmitOptions = {
    partition: overrides.partition ?? profile.partition,
    time: overrides.time ?? profile.time,
    cpusPerTask: overrides.cpus ?? profile.cpus,
    mem: overrides.mem ?? profile.mem,
    gres: overrides.gres ?? profile.gres,
    account: overrides.account ?? profile.account,
    qos: overrides.qos ?? profile.qos,
    constraint: overrides.constraint ?? profile.constraint,
    nodelist: overrides.nodelist ?? profile.nodelist
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as SubmitOptions;
}

/**
 * sbatch options for a lab session: the name and comment carry the session id (so squeue
 * re-attaches after a companion restart), output and errors go to one log in the session
 * directory, and the Slurm fields come from the profile with the request's overrides winning.
 * `extra` is the profile's free-form `sbatch` options with the request's over them
 * (SubmitOptions.sbatch once checked).
 */
export function labSubmitOptions(input: LabSubmitInput): { options: SubmitOptions; extra: Record<string, string> } {
  const sessionDir = checkInput(input);
  const { profile, overrides = {} } = input;
  const options: SubmitOptions = {
    jobName: `hpclab-${input.sessionId}`,
    comment: `hpclab:${input.sessionId}`,
    // sbatch expands %j etc. in --output; %% is a literal %.
    output: `${sessionDir}/job.log`.replace(/%/g, '%%'),
    chdir: input.homeDir
  };
  Object.assign(options, profileSubmitFields(profile, overrides));
  const extra = { ...profile.sbatch, ...overrides.sbatch };
  // Mail asked for in the request wins over the profile's map, as one option, not two.
  if (overrides.mailType !== undefined) {
    options.mailType = overrides.mailType;
    delete extra['mail-type'];
  }
  if (overrides.mailUser !== undefined) {
    options.mailUser = overrides.mailUser;
    delete extra['mail-user'];
  }
  return { options, extra };
}
