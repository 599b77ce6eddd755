// hpclab installed the JupyterLab way: the wheel pip-installed into a fresh venv, Jupyter started
// from that venv alone (no `hpclab lab`, no setting), no hpclab config at all, only a
// ~/.ssh/config entry that reaches the testbed's login host through its jump host. The sidebar
// finds the companion through the server extension, offers "Add a cluster", and the cluster
// it saves shows its partitions; "Edit profiles" changes a profile without touching JSON.
import { test, expect, type Page } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isolatedJupyterEnv } from './fixtures';
import { testbed } from './hpclab-fixtures';

const repo = path.resolve(__dirname, '..', '..');
const labScript = path.join(repo, 'lab', 'server', 'hpclab_lab.py');

test.describe.configure({ mode: 'serial' });

let tmp: string;
let home: string;
let jupyter: ChildProcess;
let labUrl: string;
const tb = testbed();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sshConfig(): string {
  const jump = tb.jumps[0];
  const common = [`User ${tb.user}`, `IdentityFile ${tb.identityFile}`, `UserKnownHostsFile ${tb.knownHostsFile}`];
  return [
    'Host tb-gateway',
    `HostName ${jump.host}`,
    `Port ${jump.port}`,
    ...common,
    '',
    'Host tb-login',
    `HostName ${tb.ssh.host}`,
    `Port ${tb.ssh.port}`,
    'ProxyJump tb-gateway',
    ...common,
    ''
  ]
    .map(l => (l.startsWith('Host ') || !l ? l : `  ${l}`))
    .join('\n');
}

test.beforeAll(async () => {
  test.setTimeout(600_000);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ui-wheel-'));
  const t0 = Date.now();
  execFileSync('bash', [path.join(repo, 'scripts', 'build-wheel'), path.join(tmp, 'wheel')], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PYTHON: '/usr/bin/python3' }
  });
  const wheel = fs.readdirSync(path.join(tmp, 'wheel')).find(f => f.endsWith('.whl'))!;
  console.log(
    `wheel: ${wheel}, ${Math.round(fs.statSync(path.join(tmp, 'wheel', wheel)).size / 1024)} KiB, built in ${Date.now() - t0} ms`
  );
  const venv = path.join(tmp, 'venv');
  execFileSync('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv]);
  execFileSync(path.join(venv, 'bin', 'pip'), [
    'install',
    '--no-index',
    '--no-deps',
    '--quiet',
    path.join(tmp, 'wheel', wheel)
  ]);

  home = path.join(tmp, 'home');
  const dirs = Object.fromEntries(['root', 'config', 'data', 'runtime', 'ipython'].map(d => [d, path.join(tmp, d)]));
  for (const d of [home, ...Object.values(dirs)]) fs.mkdirSync(d);
  fs.mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  fs.writeFileSync(path.join(home, '.ssh', 'config'), sshConfig());
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  labUrl = `http://127.0.0.1:${port}/lab?token=${token}`;
  const log = fs.openSync(path.join(tmp, 'jupyter.log'), 'w');
  // The venv's python: its etc/jupyter enables the server extension, its share/jupyter holds the
  // labextension. No --labextensions-path: Jupyter's standard places, as for any user.
  jupyter = spawn(
    path.join(venv, 'bin', 'python'),
    [
      labScript,
      '--no-browser',
      '--allow-root',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      `--token=${token}`,
      `--ServerApp.root_dir=${dirs.root}`,
      '--expose-app-in-browser',
      '--initial-left-panel=hpclab-sidebar'
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ...isolatedJupyterEnv(dirs as Record<'config' | 'data' | 'runtime' | 'ipython', string>)
      }
    }
  );
  fs.closeSync(log);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300 || jupyter.exitCode !== null)
      throw new Error(
        `Jupyter from the venv did not start:\n${fs.readFileSync(path.join(tmp, 'jupyter.log'), 'utf8')}`
      );
    await new Promise(r => setTimeout(r, 200));
  }
});

test.afterAll(async () => {
  if (jupyter?.pid) {
    try {
      process.kill(-jupyter.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  // The companion the server extension started (it outlives Jupyter, as for a user, until idle).
  const runtime = path.join(home, '.local', 'state', 'hpclab', 'run', 'companion.json');
  if (fs.existsSync(runtime)) {
    try {
      process.kill(JSON.parse(fs.readFileSync(runtime, 'utf8')).pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  execFileSync('scancel', ['-u', tb.user]);
});

const sidebar = (page: Page) => page.locator('#hpclab-sidebar');

test('a fresh venv: the sidebar offers "Add a cluster", and the saved cluster shows its partitions', async ({
  page
}) => {
  test.setTimeout(240_000);
  await page.goto(labUrl);
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded', { timeout: 60_000 });
  await expect(sidebar(page)).toBeVisible();
  // Found through the server extension, which started a companion with no config: no clusters yet.
  await expect(sidebar(page).locator('[data-hpclab-empty="clusters"]')).toBeVisible({ timeout: 60_000 });
  await sidebar(page).locator('[data-hpclab-action="add-first-cluster"]').click();

  const add = page.locator('[data-hpclab-setup="add-cluster"]');
  await expect(add).toHaveAttribute('data-hpclab-step', 'host');
  await add.locator('select[data-hpclab-field="host"]').selectOption('tb-login');
  const t0 = Date.now();
  await add.locator('[data-hpclab-action="connect"]').click();
  await expect(add).toHaveAttribute('data-hpclab-step', 'review', { timeout: 120_000 });
  console.log(`ui: Add a cluster → proposed profiles in ${Date.now() - t0} ms`);
  await expect(add.locator('tr[data-partition="gpu"]')).toBeVisible();
  await expect(add.locator('input[data-hpclab-profile="gpu-fake"]')).toBeChecked();
  await add.locator('input[data-hpclab-profile="cpu"]').uncheck();
  await add.locator('[data-hpclab-action="save"]').click();
  await expect(add.locator('[data-hpclab-saved="tb-login"]')).toBeVisible();

  const file = path.join(home, '.config', 'hpclab', 'config.json');
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(Object.keys(config.profiles)).toEqual(['gpu-fake']);
  expect(config.clusters['tb-login']).toEqual({ ssh: { host: 'tb-login' } });

  const cluster = sidebar(page).locator('.jp-hpclab-cluster[data-cluster="tb-login"]');
  await expect(
    cluster.locator('.jp-hpclab-partition[data-partition="gpu"] .jp-hpclab-gpus[data-type="fake"]')
  ).toHaveAttribute('data-total', '2', { timeout: 60_000 });
  await expect(cluster.locator('.jp-hpclab-partition[data-partition="debug"]')).toBeVisible();
});

test('"Edit profiles" changes a profile; a bad value is named beside its field', async ({ page }) => {
  await page.goto(labUrl);
  await expect(page.locator('body')).toHaveAttribute('data-hpclab', 'loaded', { timeout: 60_000 });
  await sidebar(page).locator('.jp-hpclab-section-footer [data-hpclab-action="edit-profiles"]').click();
  const edit = page.locator('[data-hpclab-setup="edit-profiles"]');
  await edit.locator('button[data-hpclab-profile="gpu-fake"]').click();
  await expect(edit.locator('form[data-hpclab-profile-form]')).toHaveAttribute('data-profile', 'gpu-fake');
  const time = edit.locator('[data-hpclab-field="time"]');
  await time.fill('soon');
  await edit.locator('[data-hpclab-action="save-profile"]').click();
  await expect(edit.locator('[data-field="time"] .jp-hpclab-field-error')).toContainText('expected');
  await time.fill('00:20:00');
  await edit.locator('[data-hpclab-action="save-profile"]').click();
  const file = path.join(home, '.config', 'hpclab', 'config.json');
  await expect.poll(() => JSON.parse(fs.readFileSync(file, 'utf8')).profiles['gpu-fake'].time).toBe('00:20:00');
  expect(JSON.parse(fs.readFileSync(file, 'utf8')).profiles['gpu-fake'].gres).toBe('gpu:fake:1'); // the rest kept
});
