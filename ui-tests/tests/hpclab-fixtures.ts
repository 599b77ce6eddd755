// The `hpclab` fixture: JupyterLab as a researcher runs it with hpclab — `hpclab lab` (the
// companion in front of the test host, one origin) against the testbed cluster, our prebuilt
// extension loaded from labextensions_path. One per worker; every Slurm job of the test user
// is cancelled after each test so tests do not wait on each other's nodes.
import { test as base } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isolatedJupyterEnv } from './fixtures';

const uiTests = path.resolve(__dirname, '..');
const repo = path.resolve(uiTests, '..');
const hpclabBin = path.join(repo, 'dist', 'server', 'cli', 'main.js');
const hostScript = path.join(uiTests, '..', 'lab', 'server', 'hpclab_lab.py');

export interface Testbed {
  user: string;
  node: string;
  config: string;
  ssh: { host: string; port: number };
  jumps: { host: string; port: number }[];
  identityFile: string;
  knownHostsFile: string;
}

export interface HpclabLab {
  /** `http://127.0.0.1:PORT/` (the companion's origin, where Lab is served too). */
  origin: string;
  /** The tokened URL `hpclab lab` printed. */
  url: string;
  testbed: Testbed;
  /** Job ids squeue lists for the test user (pending or running). */
  jobs(): string[];
  /** Why `hpclab lab` is gone (exit code or signal and its last log lines), or undefined while it runs. */
  gone(): string | undefined;
}

export function testbed(): Testbed {
  return JSON.parse(execFileSync(path.join(repo, 'scripts', 'testbed'), ['env'], { encoding: 'utf8' }));
}

function squeueIds(user: string): string[] {
  return execFileSync('squeue', ['-h', '-u', user, '-t', 'PD,R,CF', '-o', '%i'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

async function cancelAll(user: string): Promise<void> {
  execFileSync('scancel', ['-u', user]);
  for (let i = 0; i < 100 && squeueIds(user).length > 0; i++) await new Promise(r => setTimeout(r, 200));
}

function waitForUrl(child: ChildProcess, log: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hpclab lab printed no URL in 90 s:\n${log()}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Jupyter at: (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', code => reject(new Error(`hpclab lab exited (${code}):\n${log()}`)));
  });
}

export const test = base.extend<{ cleanJobs: void }, { hpclab: HpclabLab }>({
  hpclab: [
    async ({}, use, workerInfo) => {
      const tb = testbed();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ui-lab-'));
      const dirs = Object.fromEntries(
        ['root', 'config', 'data', 'runtime', 'ipython', 'settings', 'workspaces', 'state', 'labext'].map(d => [
          d,
          path.join(tmp, d)
        ])
      );
      for (const d of Object.values(dirs)) fs.mkdirSync(d);
      fs.symlinkSync(path.join(repo, 'hpclab', 'labextension'), path.join(dirs.labext, 'hpclab'));
      const server = [
        '/usr/bin/python3',
        hostScript,
        '--allow-root',
        `--ServerApp.root_dir=${dirs.root}`,
        '--expose-app-in-browser',
        `--user-settings-dir=${dirs.settings}`,
        `--workspaces-dir=${dirs.workspaces}`,
        `--labextensions-path=${dirs.labext}`
      ];
      const log = path.join(workerInfo.project.outputDir, `hpclab-lab-${workerInfo.workerIndex}.log`);
      fs.mkdirSync(path.dirname(log), { recursive: true });
      let stderr = '';
      const child = spawn(
        process.execPath,
        [hpclabBin, 'lab', '--no-browser', '--config', tb.config, '--server-command', JSON.stringify(server)],
        {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, HOME: tmp, XDG_STATE_HOME: dirs.state, ...isolatedJupyterEnv(dirs) }
        }
      );
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        fs.appendFileSync(log, d);
      });
      const killOnExit = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      };
      process.once('exit', killOnExit);
      let gone: string | undefined;
      child.once('exit', (code, signal) => {
        gone = `hpclab lab exited (${signal ?? code}); the end of its log (${log}):\n${stderr.slice(-4000)}`;
      });
      try {
        const url = await waitForUrl(child, () => stderr);
        await use({
          url,
          origin: new URL('/', url).href,
          testbed: tb,
          jobs: () => squeueIds(tb.user),
          gone: () => gone
        });
      } finally {
        process.off('exit', killOnExit);
        const exited = new Promise(r => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise(r => setTimeout(r, 8000))]);
        killOnExit();
        await cancelAll(tb.user);
      }
    },
    { scope: 'worker', timeout: 120_000 }
  ],
  cleanJobs: [
    async ({ hpclab }, use) => {
      // The companion is shared by the worker's tests: if one test ends it, that test fails with
      // its log, and the next ones say so instead of failing on a refused connection.
      const before = hpclab.gone();
      if (before) throw new Error(`before this test: ${before}`);
      await use();
      await cancelAll(hpclab.testbed.user);
      const after = hpclab.gone();
      if (after) throw new Error(`during this test: ${after}`);
    },
    { auto: true }
  ]
});

export { expect } from '@playwright/test';
