import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { startCompanion } from '../../main';
import type { SessionManager } from '../../sessions/manager';
import { openContext, UsageError } from '../context';
import { ttyPrompter } from '../tty-prompter';
import { defineCommand } from '../args';
import { urlLine } from '../url-output';
import { openBrowser } from './tunnel';

const DEFAULT_SERVER = ['jupyter', 'lab'];

export const labCommand = defineCommand({
  name: 'lab',
  summary: 'JupyterLab here with hpclab: the companion in front of a local Jupyter server, one origin',
  usage: [
    'hpclab lab [--port P] [--no-browser] [--server-command JSON] [--stop-sessions] [--json] [--verbose] [--config FILE]'
  ],
  description:
    'Starts a local Jupyter server (on loopback, with its own token passed in its environment) and the companion in front of it, so JupyterLab, the hpclab sidebar and remote kernels share one origin. Prints the URL and opens the browser. Ctrl-C stops the server and its kernels.',
  flags: {
    port: { type: 'string', value: 'P', description: 'the port to serve on (default 0: a free one)' },
    'no-browser': { type: 'boolean', description: 'do not open a browser; only print the URL' },
    'server-command': {
      type: 'string',
      value: 'JSON',
      description: 'the Jupyter server to start, as a JSON array (default ["jupyter", "lab"], found on PATH)'
    },
    'stop-sessions': {
      type: 'boolean',
      description: 'on Ctrl-C also stop every hpclab session of yours on the clusters'
    },
    json: {
      type: 'boolean',
      description:
        'print {url, token, pid} as one JSON line instead of "Jupyter at: URL" (url opens JupyterLab, token included)'
    },
    verbose: {
      type: 'boolean',
      description:
        'log everything the companion does on stderr, errors with their stacks (the same as HPCLAB_LOG=debug)'
    }
  },
  examples: [
    { description: 'JupyterLab with hpclab in the browser', command: 'hpclab lab' },
    {
      description: 'Headless, another Jupyter server, the URL for a script',
      command: `hpclab lab --no-browser --server-command '["python", "-m", "jupyterlab"]' --json`
    }
  ],
  env: [
    'HPCLAB_CONFIG',
    'HPCLAB_LOG',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
    'XDG_RUNTIME_DIR',
    'SSH_AUTH_SOCK',
    'SHELL',
    'JUPYTER_DATA_DIR',
    'XDG_DATA_HOME',
    'CI'
  ],
  async run({ values }) {
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(
        `--port: expected a port number from 0 to 65535 (0 or no --port picks a free one), got ${JSON.stringify(values.port)}`
      );
    const command =
      values['server-command'] === undefined ? DEFAULT_SERVER : parseServerCommand(values['server-command']);
    const ctx = await openContext(values.config, { allowMissing: true });
    await ctx.clusters.close();

    // The Jupyter server listens on loopback with its own token, passed in its environment
    // (never on a command line); the browser only ever talks to the companion.
    const jupyter = { port: await freePort(), token: randomBytes(24).toString('hex') };
    const server = await ctx.progress.during('Starting the Jupyter server…', () => startJupyter(command, jupyter));
    let companion;
    try {
      companion = await startCompanion({
        config: ctx.config,
        configPath: ctx.configPath,
        port,
        prompter: ttyPrompter,
        advertise: true,
        localJupyter: jupyter,
        verbose: values.verbose
      });
    } catch (err) {
      await stopProcess(server.child);
      throw err;
    }
    const url = `${companion.url}lab?token=${companion.token}`;
    process.stdout.write(urlLine(values.json, `Jupyter at: ${url}`, { url, token: companion.token, pid: process.pid }));
    process.stderr.write(
      values['stop-sessions']
        ? 'Ctrl-C stops JupyterLab here, its kernels, and every hpclab session of yours on the cluster.\n'
        : 'Ctrl-C stops JupyterLab here and its kernels (Lab sessions on the cluster are stopped from the sidebar).\n'
    );
    if (!values['no-browser']) openBrowser(url);
    const exitCode = await new Promise<number>(resolve => {
      const onExit = (code: number | null) => {
        process.stderr.write(`hpclab lab: the Jupyter server exited (${code})\n${server.tail()}`);
        resolve(1);
      };
      const onSignal = () => {
        // Stopping it ourselves below is not a failure to report.
        server.child.off('exit', onExit);
        resolve(0);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      server.child.once('exit', onExit);
    });
    // The server first: it shuts its kernels down, and their launchers release their allocations
    // through the companion, which must still be there (else they would start another one).
    await stopProcess(server.child);
    if (values['stop-sessions']) await stopAllSessions(companion.sessions);
    await companion.close();
    // As `hpclab serve`: told to stop, it stops, even if a straggler (a watch on the cluster, a
    // timer) still holds the loop.
    setTimeout(() => process.exit(exitCode), 2000).unref();
    return exitCode;
  }
});

/** Cancels every live session's job (Lab sessions and kernel allocations), saying what ended. */
async function stopAllSessions(sessions: SessionManager): Promise<void> {
  const live = sessions.list().filter(s => s.state !== 'ended' && s.state !== 'failed');
  for (const s of live) {
    try {
      await sessions.stop(s.id);
      process.stderr.write(`hpclab lab: stopped session ${s.id} (${s.profile}${s.jobId ? `, job ${s.jobId}` : ''})\n`);
    } catch (err) {
      process.stderr.write(
        `hpclab lab: could not stop session ${s.id}${s.jobId ? ` (job ${s.jobId})` : ''}: ${(err as Error).message}\n`
      );
    }
  }
}

function parseServerCommand(text: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new UsageError(
      `--server-command: expected a JSON array like ["jupyter", "lab"], got ${JSON.stringify(text)}`
    );
  }
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    !argv.every(w => typeof w === 'string' && w.length > 0 && !/[\0\r\n]/.test(w))
  )
    throw new UsageError(
      '--server-command: expected a non-empty JSON array of one-line strings, like ["jupyter", "lab"]'
    );
  return argv as string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server and waits until its API answers with our token (60 s at most). */
async function startJupyter(
  command: string[],
  target: { port: number; token: string }
): Promise<{ child: ChildProcess; tail(): string }> {
  const args = [
    ...command.slice(1),
    '--no-browser',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${target.port}`,
    '--ServerApp.port_retries=0'
  ];
  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server with
  // SIGTERM, on which it shuts its kernels down (their launchers release their allocations
  // through our companion). jupyter_server 1.x without a terminal takes SIGINT as an abrupt stop
  // that leaves its kernels' launchers to fend for themselves.
  const child = spawn(command[0], args, {
    env: { ...process.env, JUPYTER_TOKEN: target.token },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true
  });
  // Should we exit without stopping it (an uncaught error), the server must not outlive us.
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const tail = () => log.split('\n').slice(-15).join('\n');
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', err => {
    exited = true;
    log += `\n${err.message}`;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the Jupyter server (${command.join(' ')}) exited before it answered:\n${tail()}`);
    const ok = await fetch(`http://127.0.0.1:${target.port}/api/status`, {
      headers: { Authorization: `token ${target.token}` }
    }).then(
      r => r.ok,
      () => false
    );
    if (ok) return { child, tail };
    await new Promise(r => setTimeout(r, 250));
  }
  await stopProcess(child);
  throw new Error(`the Jupyter server did not answer within 60 s:\n${tail()}`);
}

/** SIGTERM, then SIGKILL after 5 s: a Jupyter server has been seen to ignore SIGTERM. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(resolve => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
