import { execFileSync } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SessionInfo } from '../../server/sessions/types';
import { allCommandLines, cancelAllJobs, descendants, kernelKeysSince, repoRoot, testbed } from '../support/testbed';
import { companionForSuite, runningLab, startNotebook } from './faults';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, '0');

/**
 * What must hold while a Lab session and a remote kernel both run: loopback-only listeners on
 * the user's side, private files on both sides, no secret on any command line, and a changed
 * host key refused. (Every route and upgrade without a token, with a wrong one or cross-origin
 * is covered by the access tables in test/unit/api, read from the router itself.)
 */
describe('access while sessions run', () => {
  const env = testbed();
  const companion = companionForSuite();
  let lab: SessionInfo;
  let nb: Awaited<ReturnType<typeof startNotebook>>;
  const suiteStart = Date.now();

  beforeAll(async () => {
    lab = await runningLab(companion());
    nb = await startNotebook();
    await nb.until('the remote kernel to run a cell', () => nb.steps.executing, 120_000);
  }, 240_000);
  // The notebook's launcher and companion go first, then its jobs: whichever order jest runs this
  // and the suite companion's afterAll in, nothing is left to submit an allocation again.
  afterAll(async () => {
    await nb?.stop();
    await cancelAllJobs();
  });

  it('nothing of ours listens on a non-loopback address (ss)', async () => {
    const ours = new Set([companion().child!.pid!, (await nb.companion()).pid]);
    // The launcher Jupyter started (its local kernel ports) is a child of the notebook's driver.
    for (const pid of [...ours]) descendants(pid).forEach(p => ours.add(p));
    for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
      if (line.includes('kernel-launch')) ours.add(Number(line.trim().split(' ')[0]));
    }
    const listening = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })
      .split('\n')
      .filter(l => [...l.matchAll(/pid=(\d+)/g)].some(m => ours.has(Number(m[1]))));
    // Companion (1 port each) + the launcher's five kernel ports at least.
    expect(listening.length).toBeGreaterThanOrEqual(7);
    for (const line of listening) {
      const local = line.trim().split(/\s+/)[3];
      expect([local, /^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):\d+$/.test(local)]).toEqual([local, true]);
    }
  });

  it('private files: runtime dir 0700, socket, runtime file, state 0600; session dirs 0700 and their secrets 0600', async () => {
    const state = path.join(companion().stateHome, 'hpclab');
    expect(mode(path.join(state, 'run'))).toBe('0700');
    expect(mode(path.join(state, 'run', 'companion.json'))).toBe('0600');
    expect(mode(path.join(state, 'sessions.json'))).toBe('0600');
    const runtime = JSON.parse(await fs.readFile(path.join(state, 'run', 'companion.json'), 'utf8'));
    if (runtime.socket) expect(mode(path.dirname(runtime.socket))).toBe('0700');
    // The cluster side, where other users log in too.
    const sessions = path.join('/home', env.user, '.hpclab', 'sessions');
    const labDir = path.join(sessions, lab.id);
    expect(mode(labDir)).toBe('0700');
    expect(mode(path.join(labDir, 'rendezvous.json'))).toBe('0600');
    const kernelDir = readdirSync(sessions)
      .map(d => path.join(sessions, d))
      .filter(d => d.startsWith(path.join(sessions, 'k')))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    expect(mode(kernelDir)).toBe('0700');
    const secrets = readdirSync(kernelDir).filter(f =>
      /^kernel-\d+\.json$|^allocation\.json$|^kernel-current$|\.rc$/.test(f)
    );
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const f of secrets) expect([f, mode(path.join(kernelDir, f))]).toEqual([f, '0600']);
  });

  it('kernel keys and node tokens never appear on any command line, on any host', () => {
    const sessions = path.join('/home', env.user, '.hpclab', 'sessions');
    const secrets: string[] = [
      JSON.parse(readFileSync(path.join(sessions, lab.id, 'rendezvous.json'), 'utf8')).token,
      ...kernelKeysSince(suiteStart)
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    const all = allCommandLines(); // login and compute hosts alike
    // The kernels are there to be looked at: started through hpclab's bootstrap of ipykernel.
    expect(all).toContain('from ipykernel import kernelapp');
    expect(all).toContain('jupyter');
    for (const secret of secrets) expect(all.includes(secret)).toBe(false);
    // Nor the companion's own token.
    expect(all.includes(companion().token)).toBe(false);
  });

  it('a changed host key is refused, and the message says what to check', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-hostkey-'));
    const keyFile = path.join(dir, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const other = readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const knownHosts = path.join(dir, 'known_hosts');
    await fs.writeFile(knownHosts, `${env.ssh.host} ${other}\n`, { mode: 0o600 });
    const config = JSON.parse(await fs.readFile(env.config, 'utf8'));
    config.clusters.testbed.ssh.knownHostsFile = knownHosts;
    const configFile = path.join(dir, 'config.json');
    await fs.writeFile(configFile, JSON.stringify(config), { mode: 0o600 });
    const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');
    let failed: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [bin, 'status', '--cluster', 'testbed', '--config', configFile], {
        encoding: 'utf8',
        stdio: 'pipe',
        env: { ...process.env, HOME: dir }
      });
    } catch (err) {
      failed = err as { status: number; stderr: string };
    }
    expect(failed?.status).toBeGreaterThan(0);
    expect(failed?.stderr).toMatch(/host key/i);
    expect(failed?.stderr).toContain(knownHosts);
    expect(failed?.stderr).toMatch(/changed|does not match|mismatch/i);
  });
});
