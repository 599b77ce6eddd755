import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, testbed, waitFor } from '../support/testbed';

/*
 * The Python wheel, installed the way a researcher installs it (pip into a venv beside Debian's
 * jupyter_server), must make a plain Jupyter server load hpclab with no other step: the server
 * extension is enabled, and it starts the user's companion and hands its address to the browser.
 */
const python = '/usr/bin/python3';
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** A port nobody listens on now (jupyter_server 1.x cannot listen on port 0 and report it). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** Stops a process we started: SIGTERM, then SIGKILL if it is still there after a while. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(resolve => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise(r => setTimeout(r, 10_000).unref())]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

describe('the hpclab wheel in a venv with Debian Jupyter', () => {
  const config = testbed().config;
  let work: string;
  let home: string;
  let wheel: string;
  let venv: string;
  let jupyter: ChildProcess | undefined;
  let companionPid: number | undefined;
  let jupyterErr = '';
  // Only what a user's login gives, plus where the testbed's config is: no XDG_* of the test run.
  const userEnv = () => ({
    PATH: process.env.PATH,
    HOME: home,
    HPCLAB_CONFIG: config,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1'
  });

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-wheel-'));
    home = path.join(work, 'home');
    venv = path.join(work, 'venv');
    await fs.mkdir(home, { mode: 0o700 });
    // Debian's python3-build and python3-hatchling: the same offline build a packager does.
    const built = spawnSync('bash', [path.join(repoRoot, 'scripts', 'build-wheel'), path.join(work, 'dist')], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PYTHON: python },
      timeout: 600_000
    });
    if (built.status !== 0)
      throw new Error(`scripts/build-wheel failed (${built.status ?? built.signal}):\n${built.stderr.slice(-4000)}`);
    wheel = built.stdout.split('\n')[0];
    expect(wheel).toBe(path.join(work, 'dist', `hpclab-${version}-py3-none-any.whl`));
    execFileSync(python, ['-m', 'venv', '--system-site-packages', venv]);
    execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--no-index', '--no-deps', wheel], {
      env: userEnv(),
      encoding: 'utf8'
    });
  }, 900_000);

  afterAll(async () => {
    await stop(jupyter);
    if (companionPid !== undefined) {
      try {
        process.kill(companionPid, 'SIGTERM');
      } catch (err) {
        // Already gone (it exits by itself when idle): nothing left to stop.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it('holds the labextension, its install.json, the server config and the bundled companion', () => {
    const listing = execFileSync(python, ['-m', 'zipfile', '-l', wheel], { encoding: 'utf8' });
    const data = `hpclab-${version}.data/data`;
    for (const file of [
      `${data}/share/jupyter/labextensions/hpclab/install.json`,
      `${data}/share/jupyter/labextensions/hpclab/package.json`,
      `${data}/etc/jupyter/jupyter_server_config.d/hpclab.json`,
      'hpclab/companion/main.js',
      'hpclab/__init__.py'
    ]) {
      expect(listing).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}\\s`, 'm'));
    }
    // Shipped as shared data only, not a second time inside the package.
    expect(listing).not.toMatch(/^hpclab\/labextension\//m);
  });

  it("is an enabled, valid server extension of the venv's Jupyter server", () => {
    const r = spawnSync(path.join(venv, 'bin', 'python'), ['-m', 'jupyter_server', 'extension', 'list'], {
      env: userEnv(),
      encoding: 'utf8'
    });
    expect(r.status).toBe(0);
    // jupyter_server prints the list on stderr, coloured; what matters is the words.
    const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(out).toMatch(/^\s*hpclab enabled$/m);
    expect(out).toMatch(new RegExp(`^\\s*hpclab ${version.replace(/[.]/g, '\\.')} OK$`, 'm'));
  });

  it("runs the CLI through the venv's hpclab command", () => {
    const r = spawnSync(path.join(venv, 'bin', 'hpclab'), ['--version'], { env: userEnv(), encoding: 'utf8' });
    expect([r.status, r.stdout.trim()]).toEqual([0, version]);
  });

  it('starts the companion for a plain Jupyter server and hands its address to an authenticated user only', async () => {
    const port = await freePort();
    const token = randomBytes(24).toString('hex');
    jupyter = spawn(
      path.join(venv, 'bin', 'python'),
      [
        '-m',
        'jupyter_server',
        '--no-browser',
        '--allow-root',
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--port-retries=0',
        `--ServerApp.token=${token}`,
        `--ServerApp.root_dir=${home}`
      ],
      { cwd: home, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'] }
    );
    jupyter.stderr!.on('data', (d: Buffer) => (jupyterErr += d.toString()));
    const base = `http://127.0.0.1:${port}/`;
    await waitFor('the Jupyter server', async () => (await fetch(`${base}api/status?token=${token}`)).ok, 60_000).catch(
      err => {
        throw new Error(`${err.message}\n${jupyterErr}`);
      }
    );

    const anonymous = await fetch(`${base}hpclab-companion`, { redirect: 'manual' });
    expect([401, 403, 302]).toContain(anonymous.status);
    expect(await anonymous.text()).not.toMatch(/token/);

    const reply = await fetch(`${base}hpclab-companion`, { headers: { Authorization: `token ${token}` } });
    const body = await reply.text();
    expect([reply.status, body]).toEqual([200, expect.any(String)]);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const companion = JSON.parse(body) as { url: string; token: string; version: string; api: number };
    expect(companion).toEqual({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      token: expect.stringMatching(/^[0-9a-f]{64}$/),
      version,
      api: expect.any(Number)
    });

    // The same companion the wheel's `hpclab` command finds: its pid is what the cleanup stops.
    const found = JSON.parse(
      execFileSync(path.join(venv, 'bin', 'hpclab'), ['companion', '--json'], { env: userEnv(), encoding: 'utf8' })
    ) as { url: string; token: string; pid: number };
    companionPid = found.pid;
    expect(found).toMatchObject({ url: companion.url, token: companion.token });

    const auth = { headers: { Authorization: `token ${companion.token}` } };
    const versionReply = await fetch(`${companion.url}hpclab/api/version`, auth);
    expect(versionReply.status).toBe(200);
    expect(await versionReply.json()).toMatchObject({ version });
    const clusters = await fetch(`${companion.url}hpclab/api/clusters`, auth);
    expect(clusters.status).toBe(200);
    const configured = Object.keys(
      (JSON.parse(readFileSync(config, 'utf8')) as { clusters: Record<string, unknown> }).clusters
    );
    expect(((await clusters.json()) as string[]).sort()).toEqual(configured.sort());

    // A second page load reuses the running companion instead of starting another.
    const again = await fetch(`${base}hpclab-companion`, { headers: { Authorization: `token ${token}` } });
    expect(await again.json()).toEqual(companion);
  }, 180_000);
});
