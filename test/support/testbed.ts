import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** Facts about the running testbed, as `scripts/testbed env` prints them. */
export interface TestbedEnv {
  mode: 'single' | 'split';
  dir: string;
  user: string;
  /** A second, unprivileged cluster user, for probes of what others can reach. */
  probeUser: string;
  node: string;
  nodeAddr: string;
  ssh: { host: string; port: number };
  jumps: { host: string; port: number }[];
  identityFile: string;
  knownHostsFile: string;
  hostKeyPub: string;
  pidFiles: Record<'slurmctld' | 'slurmd' | 'sshdLogin' | 'sshdJump1' | 'sshdJump2', string>;
  loginNetns: string | null;
  computeNetns: string | null;
  config: string;
}

export const repoRoot = path.resolve(__dirname, '..', '..');
const script = path.join(repoRoot, 'scripts', 'testbed');

let cached: TestbedEnv | undefined;

/** The testbed must already be up (`npm test` brings it up); fail loudly if it is not. */
export function testbed(): TestbedEnv {
  if (!cached) {
    try {
      cached = JSON.parse(execFileSync(script, ['env'], { encoding: 'utf8' })) as TestbedEnv;
    } catch (err) {
      throw new Error(
        `the testbed is not up: run 'scripts/testbed up' (or 'npm test'), then retry\n${(err as Error).message}`
      );
    }
  }
  return cached;
}

/** Runs a command as the testbed user on the login node, the way a user's shell would. */
export function onLoginNode(argv: string[], input?: string): string {
  const env = testbed();
  const inner = ['runuser', '-u', env.user, '--', ...argv];
  const full = env.loginNetns ? ['nsenter', `--net=/run/netns/${env.loginNetns}`, ...inner] : inner;
  return execFileSync(full[0], full.slice(1), { encoding: 'utf8', input, cwd: '/' });
}

/** Cancels every job of the testbed user and waits until squeue lists none. */
export async function cancelAllJobs(): Promise<void> {
  const env = testbed();
  execFileSync('scancel', ['-u', env.user]);
  execFileSync('scancel', ['-u', 'root']);
  for (let i = 0; i < 300; i++) {
    const out = execFileSync('squeue', ['-h', '-t', 'PD,R,CG,S', '-o', '%i'], { encoding: 'utf8' }).trim();
    if (!out) return;
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`jobs still listed 60 s after scancel:\n${execFileSync('squeue', { encoding: 'utf8' })}`);
}

/**
 * Keys of the kernel connection files written on the cluster since `sinceMs`: this run's kernels.
 * The cluster's home outlives a test run, and a file an earlier run left (a fuzzed key such as
 * `<`) would otherwise be "found" in every command line.
 */
export function kernelKeysSince(sinceMs: number): string[] {
  const sessions = path.join('/home', testbed().user, '.hpclab', 'sessions');
  const keys: string[] = [];
  for (const dir of readdirSync(sessions)) {
    for (const f of readdirSync(path.join(sessions, dir)).filter(n => /^kernel-\d+\.json$/.test(n))) {
      const file = path.join(sessions, dir, f);
      // mtime has 1 s granularity on some filesystems: allow that much slack.
      if (statSync(file).mtimeMs >= sinceMs - 1000) keys.push(JSON.parse(readFileSync(file, 'utf8')).key);
    }
  }
  return keys;
}

/**
 * Every process's command line, one a line (arguments joined by spaces). The testbed's login and
 * compute hosts share this machine (network namespaces), so this sees both.
 */
export function allCommandLines(): string {
  let all = '';
  for (const pid of readdirSync('/proc').filter(p => /^\d+$/.test(p))) {
    try {
      all += readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') + '\n';
    } catch {
      // gone meanwhile
    }
  }
  return all;
}

/** Polls `check` until it returns a value or the time runs out; never sleeps a fixed time. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 200
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && (v as unknown) !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise(r => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * How many SSH connections process `pid` holds to the login node's sshd: its established TCP
 * connections to that address, read from the socket table, so they are its own. Counting
 * `sshd: <user>` processes instead counts every client of the testbed user on this machine,
 * and the copy of the session process sshd forks for each exec until it runs the command.
 */
export function sshConnectionsOf(pid: number): number {
  const { host, port } = testbed().ssh;
  const peers = new Set([`${host}:${port}`, `[::ffff:${host}]:${port}`]);
  return execFileSync('ss', ['-Htnp', 'state', 'established'], { encoding: 'utf8' })
    .split('\n')
    .filter(line => line.includes(`pid=${pid},`) && peers.has(line.trim().split(/\s+/)[3])).length;
}

/** Every descendant of a process (children, grandchildren…), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp !== p) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** Drops every connection an sshd listener serves, the way a crashed link would, by killing its session processes. */
export function dropSshConnections(pidFile: string): number {
  const victims = descendants(Number(readFileSync(pidFile, 'utf8').trim()));
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return victims.length;
}

/** slurmctld's RPC counters by message type (`sdiag`), to count what our calls cost Slurm. */
export function slurmRpcCounts(): Record<string, number> {
  const out = execFileSync('sdiag', { encoding: 'utf8' });
  const section =
    out
      .split('Remote Procedure Call statistics by message type')[1]
      ?.split('Remote Procedure Call statistics by user')[0] ?? '';
  const counts: Record<string, number> = {};
  for (const m of section.matchAll(/^\s*(\w+)\s+\(\s*\d+\)\s+count:(\d+)/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}
