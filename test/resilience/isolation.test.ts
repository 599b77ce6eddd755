import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { scratchName } from '../support/clusters';
import { CompanionProcess, runOnKernel } from '../support/companion';
import { cancelAllJobs, repoRoot, testbed } from '../support/testbed';
import { runningLab, startNotebook } from './faults';

/*
 * Nothing on a compute node that another cluster user can connect to. The testbed's second user
 * (hpcprobe, its own account) probes, from the login host and from the compute host, every TCP
 * listener on the node and every unix socket the host lists, while the first user's Lab kernel
 * and remote kernel print a secret every 100 ms: it must read no secret and get no Jupyter
 * answer, `ss` must show no TCP listener of the first user on the compute host, and both
 * kernels must keep working. The same probe against a cluster set to `nodeChannels: "tcp"`
 * (today's peers' way) does read the secret: the probe can fail.
 */

interface ProbeReport {
  user: number;
  tcp: { host: string; port: number; raw: number | string; http?: Record<string, string>; zmq: number | string }[];
  unix: { path: string; raw: number | string }[];
  dirs: { dir: string; listed?: string[]; error?: string }[];
  secretSeen: boolean;
  http200: [string, string][];
}

interface Listener {
  addr: string;
  port: number;
  uid: number;
  process: string;
}

const env = testbed();
const secret = `hpclab-secret-${randomBytes(8).toString('hex')}`;
const uidOf = (user: string) => Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());

/** Every TCP listener on a host, with its owner (ss -e gives the uid). */
function listenersOn(netns: string | null): Listener[] {
  const argv = ['ss', '-Hltnpe'];
  const full = netns ? ['nsenter', `--net=/run/netns/${netns}`, ...argv] : argv;
  const out = execFileSync(full[0], full.slice(1), { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const local = line.trim().split(/\s+/)[3] ?? '';
      const at = local.lastIndexOf(':');
      return {
        addr: local
          .slice(0, at)
          .replace(/^\[|\]$/g, '')
          .replace(/%.*$/, ''),
        port: Number(local.slice(at + 1)),
        uid: Number(/uid:(\d+)/.exec(line)?.[1] ?? 0),
        process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? '?'
      };
    });
}

/** Runs the probe as the second user on one host, against these TCP targets. */
async function probe(where: 'login' | 'compute', targets: [string, number][], sessionId: string): Promise<ProbeReport> {
  const script = scratchName('probe.py');
  await fs.copyFile(path.join(repoRoot, 'test', 'support', 'isolation_probe.py'), script);
  await fs.chmod(script, 0o644);
  const netns = where === 'login' ? env.loginNetns : env.computeNetns;
  const argv = [
    'runuser',
    '-u',
    env.probeUser,
    '--',
    'env',
    `HPCLAB_TEST_SECRET=${secret}`,
    `HPCLAB_TEST_SESSION=${sessionId}`,
    '/usr/bin/python3',
    script,
    JSON.stringify(targets)
  ];
  const full = netns ? ['nsenter', `--net=/run/netns/${netns}`, ...argv] : argv;
  try {
    return JSON.parse(execFileSync(full[0], full.slice(1), { encoding: 'utf8', cwd: '/', timeout: 120_000 }));
  } finally {
    await fs.rm(script, { force: true });
  }
}

/** What each host's probe aims at: every listener, by an address that host can reach it at. */
function targetsFor(where: 'login' | 'compute', listeners: Listener[]): [string, number][] {
  return listeners
    .filter(l => where === 'compute' || !/^(127\.|::1$)/.test(l.addr))
    .map(l => {
      const wildcard = l.addr === '0.0.0.0' || l.addr === '*' || l.addr === '::';
      const host = wildcard ? (where === 'compute' ? '127.0.0.1' : env.nodeAddr) : l.addr;
      return [host, l.port] as [string, number];
    });
}

/** A Lab session's own kernel, printing the secret every 100 ms from a thread. */
async function leakyLabKernel(
  companion: CompanionProcess,
  lab: SessionInfo
): Promise<(code: string) => Promise<string>> {
  const kernel = await companion.json<{ id: string }>(`${lab.baseUrl}api/kernels`, {
    method: 'POST',
    body: JSON.stringify({ name: 'python3' })
  });
  const wsUrl = `${companion.url.replace(/^http/, 'ws')}${lab.baseUrl.slice(1)}api/kernels/${kernel.id}/channels`;
  const run = (code: string) => runOnKernel(wsUrl, { Authorization: `token ${companion.token}` }, code);
  const started = await run(
    [
      'import threading, time',
      'def _leak():',
      '    while True:',
      `        print(${JSON.stringify(secret)}, flush=True)`,
      '        time.sleep(0.1)',
      'threading.Thread(target=_leak, daemon=True).start()',
      'time.sleep(0.3)'
    ].join('\n')
  );
  expect(started).toContain(secret); // the owner reads it
  return run;
}

async function companionWith(config: object): Promise<CompanionProcess> {
  const file = scratchName('config.json');
  await fs.writeFile(file, JSON.stringify(config), { mode: 0o600 });
  const companion = await CompanionProcess.create(file);
  await companion.start();
  return companion;
}

describe('another cluster user on the node', () => {
  let companion: CompanionProcess;
  const base = JSON.parse(execFileSync('cat', [env.config], { encoding: 'utf8' }));

  beforeAll(async () => {
    await cancelAllJobs();
    // The same cluster twice: as hpclab reaches nodes by default, and with TCP ports (the control).
    const tcp = { ...base.clusters.testbed, nodeChannels: 'tcp' };
    base.clusters.tcpnodes = tcp;
    base.profiles['cpu-tcp'] = { ...base.profiles.cpu, cluster: 'tcpnodes' };
    companion = await companionWith(base);
  }, 60_000);
  afterAll(async () => {
    await companion?.stop();
    await cancelAllJobs();
  });

  it('reads nothing of a Lab and a remote kernel, while both keep working', async () => {
    const lab = await runningLab(companion);
    expect(lab.access).toMatchObject({ kind: 'unix-socket', relay: 'up' });
    expect(lab.access?.summary).toMatch(/no TCP port on the node/);
    const runLab = await leakyLabKernel(companion, lab);
    const notebook = await startNotebook('cpu', 'secret', { HPCLAB_TEST_SECRET: secret });
    try {
      await notebook.until('the remote kernel to print the secret', () => notebook.steps.printing, 120_000);
      expect(notebook.steps.printing.seen).toBeGreaterThan(0);

      const owner = uidOf(env.user);
      const listeners = listenersOn(env.computeNetns);
      // No TCP listener of the user's jobs on the compute host: not the Lab, not a kernel, not a pipe.
      expect(listeners.filter(l => l.uid === owner)).toEqual([]);
      // On the login host, the user's own listeners too: the bulk lane's hub, which must drop
      // every connection that does not bring a secret it was just given.
      await runLab('print(1)'); // a proxied request, so the Lab's bulk lane (and its hub) is in use
      const hub = listenersOn(env.loginNetns).filter(l => l.uid === owner);
      const now = await companion.json<SessionInfo>(`/hpclab/api/sessions/${lab.id}`);
      expect(now.access?.summary).toMatch(/streams: the relay dials out to the companion's hub/);
      const reports = [
        await probe('compute', targetsFor('compute', listeners), lab.id),
        await probe(
          'login',
          [...targetsFor('login', listeners), ...hub.map(l => ['127.0.0.1', l.port] as [string, number])],
          lab.id
        )
      ];
      for (const report of reports) {
        expect(report.user).toBe(uidOf(env.probeUser));
        expect(report.secretSeen).toBe(false);
        expect(report.http200).toEqual([]);
        // The job's private directories exist, and the probe can neither list nor connect into them.
        for (const dir of report.dirs) expect(dir).toMatchObject({ error: 'PermissionError' });
        for (const socket of report.unix.filter(u => u.path.includes('/hpclab.')))
          expect(socket).toMatchObject({ raw: 'PermissionError' });
      }
      expect(reports[0].dirs.length).toBeGreaterThanOrEqual(2); // the Lab's and the kernel allocation's
      console.log(
        `isolation: the user's listeners on the login host: ${hub.map(l => `${l.process}:${l.port}`).join(', ') || 'none'}`
      );
      console.log(
        `isolation: ${reports.map((r, i) => `${i ? 'login' : 'compute'} host: ${r.tcp.length} TCP listeners, ${r.unix.length} unix sockets, ${r.dirs.length} private dirs probed`).join('; ')}: no secret, no Jupyter answer`
      );

      // Both kernels still work, and the Lab still answers through the proxy.
      expect(await runLab('print(6 * 7)')).toContain('42');
      await notebook.go();
      await notebook.until('the remote kernel to answer after the probe', () => notebook.steps.after, 120_000);
      expect(notebook.steps.after.out).toContain('42');
      expect((await companion.fetch(`${lab.baseUrl}api/status`)).status).toBe(200);
      const relays = execFileSync('squeue', ['-h', '-s', '-u', env.user, '-o', '%j'], { encoding: 'utf8' });
      expect(relays).toContain('hpclab-relay');
    } finally {
      await notebook.stop();
    }
  }, 400_000);

  it('with nodeChannels "tcp", the same probe reads the kernel output: what the default prevents', async () => {
    const lab = await runningLab(companion, undefined, 'cpu-tcp');
    expect(lab.access).toMatchObject({ kind: 'tcp', relay: null });
    expect(lab.access?.summary).toMatch(/any cluster user can connect/);
    await leakyLabKernel(companion, lab);
    const owner = uidOf(env.user);
    const listeners = listenersOn(env.computeNetns);
    expect(listeners.filter(l => l.uid === owner).length).toBeGreaterThan(0);
    const report = await probe('compute', targetsFor('compute', listeners), lab.id);
    expect(report.secretSeen).toBe(true);
    await companion.json(`/hpclab/api/sessions/${lab.id}`, { method: 'DELETE' });
  }, 300_000);
});
