// The `lab` fixture: one test-host server per worker, on a free loopback port with a random
// token, in throw-away Jupyter dirs, loading prebuilt labextensions from `labextensionsPaths`.
//
// Point it elsewhere from a spec file:
//   test.use({ labextensionsPaths: ['/some/dir'], serverArgs: ['--ServerApp.base_url=/x/'] });
// Each path is a directory of `<package name>/package.json` + `static/…` (jupyter's layout).
import { test as base } from '@playwright/test';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const uiTests = path.resolve(__dirname, '..');
const repo = path.resolve(uiTests, '..');
const hostScript = path.join(uiTests, '..', 'lab', 'server', 'hpclab_lab.py');
// Debian's python: another python3 comes first on PATH here and lacks jupyter_server.
const python = process.env.HPCLAB_HOST_PYTHON || '/usr/bin/python3';

export interface LabServer {
  /** http://127.0.0.1:PORT + base_url, without a trailing slash. */
  baseUrl: string;
  token: string;
  /** Root dir of the server's contents (notebooks land here). */
  rootDir: string;
  /** Full URL for a path under base_url, with the token, e.g. url('lab'). */
  url(rel: string): string;
}

/** Nothing from the user's own Jupyter setup, nothing left behind in it: Jupyter's dirs in `dirs`. */
export function isolatedJupyterEnv(dirs: Record<'config' | 'data' | 'runtime' | 'ipython', string>): NodeJS.ProcessEnv {
  return {
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    IPYTHONDIR: dirs.ipython,
    JUPYTER_PLATFORM_DIRS: '0',
    // ipykernel's debugger otherwise warns about frozen modules on every kernel start.
    PYDEVD_DISABLE_FILE_VALIDATION: '1'
  };
}

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

/** Our own extension, as `npm run build:labextension` leaves it, under its package name. */
function ownExtensionDir(tmp: string): string {
  const built = path.join(repo, 'hpclab', 'labextension');
  const pkg = path.join(built, 'package.json');
  if (!fs.existsSync(pkg)) {
    throw new Error(`${built} is missing: run \`npm run build:labextension\` at the repo root`);
  }
  // jupyterlab_server finds extensions at <path>/<name>/package.json; scoped names nest.
  const name: string = JSON.parse(fs.readFileSync(pkg, 'utf8')).name;
  const dir = path.join(tmp, 'labextensions');
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.symlinkSync(built, path.join(dir, name));
  return dir;
}

async function waitUntilUp(server: LabServer, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`test host exited early (${child.exitCode ?? child.signalCode}); see ${log}`);
    }
    try {
      const reply = await fetch(`${server.baseUrl}/api/status?token=${server.token}`);
      if (reply.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  throw new Error(`test host did not answer within 60 s; see ${log}`);
}

/** SIGTERM (the server stops its kernels), then SIGKILL to the whole group: it once hung. */
async function stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null && graceMs > 0) {
    const exited = new Promise(resolve => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = new Promise(resolve => setTimeout(resolve, graceMs, 'timeout'));
    if ((await Promise.race([exited, timer])) === 'timeout') {
      console.warn(`test host ignored SIGTERM for ${graceMs} ms; killing it`);
    }
  }
  try {
    process.kill(-child.pid, 'SIGKILL'); // its kernels too (same process group)
  } catch {
    // group already gone
  }
}

export const test = base.extend<
  {},
  {
    labextensionsPaths: string[] | undefined;
    serverArgs: string[];
    lab: LabServer;
  }
>({
  // undefined = our own prebuilt extension only.
  labextensionsPaths: [undefined, { option: true, scope: 'worker' }],
  serverArgs: [[], { option: true, scope: 'worker' }],
  lab: [
    async ({ labextensionsPaths, serverArgs }, use, workerInfo) => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-ui-'));
      const dirs = Object.fromEntries(
        ['root', 'config', 'data', 'runtime', 'ipython', 'settings', 'workspaces'].map(d => {
          fs.mkdirSync(path.join(tmp, d));
          return [d, path.join(tmp, d)];
        })
      );
      const extensions = labextensionsPaths ?? [ownExtensionDir(tmp)];
      const port = await freePort();
      const token = randomBytes(24).toString('hex');
      const baseUrlArg = [...serverArgs].reverse().find(a => a.startsWith('--ServerApp.base_url='));
      const basePath = (baseUrlArg?.split('=')[1] ?? '/').replace(/\/+$/, '');
      const server: LabServer = {
        baseUrl: `http://127.0.0.1:${port}${basePath}`,
        token,
        rootDir: dirs.root,
        url: rel =>
          `http://127.0.0.1:${port}${basePath}/${rel.replace(/^\//, '')}` +
          `${rel.includes('?') ? '&' : '?'}token=${token}`
      };
      const args = [
        hostScript,
        '--no-browser',
        '--allow-root', // CI runs as root
        '--ip=127.0.0.1',
        `--port=${port}`,
        '--ServerApp.port_retries=0', // fail rather than quietly take another port
        `--token=${token}`,
        `--ServerApp.root_dir=${dirs.root}`,
        '--expose-app-in-browser',
        `--user-settings-dir=${dirs.settings}`,
        `--workspaces-dir=${dirs.workspaces}`,
        ...extensions.map(p => `--labextensions-path=${p}`),
        ...serverArgs
      ];
      const log = path.join(workerInfo.project.outputDir, `host-server-${workerInfo.workerIndex}.log`);
      fs.mkdirSync(path.dirname(log), { recursive: true });
      const out = fs.openSync(log, 'w');
      const child = spawn(python, args, {
        detached: true, // own process group, so stop() can kill kernels with it
        stdio: ['ignore', out, out],
        env: { ...process.env, ...isolatedJupyterEnv(dirs) }
      });
      fs.closeSync(out);
      // If the worker dies before teardown runs, still take the server and kernels down.
      const killOnExit = () => stop(child, 0);
      process.once('exit', killOnExit);
      try {
        await waitUntilUp(server, child, log);
        await use(server);
      } finally {
        process.off('exit', killOnExit);
        await stop(child);
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 90_000 }
  ]
});

export { expect } from '@playwright/test';
