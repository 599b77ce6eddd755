import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { repoRoot, waitFor } from './testbed';

const bin = path.join(repoRoot, 'dist', 'server', 'cli', 'main.js');

/** A companion run as users run it (`hpclab serve`), in its own process, with its own state dir. */
export class CompanionProcess {
  child: (ChildProcess & { killedByTest?: boolean }) | undefined;
  url = '';
  token = '';
  stderr = '';

  constructor(
    readonly configFile: string,
    readonly stateHome: string
  ) {}

  static async create(configFile: string): Promise<CompanionProcess> {
    return new CompanionProcess(configFile, await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-state-')));
  }

  async start(): Promise<void> {
    const runtime = path.join(this.stateHome, 'hpclab', 'run', 'companion.json');
    await fs.rm(runtime, { force: true });
    this.stderr = '';
    this.child = spawn(process.execPath, [bin, 'serve', '--config', this.configFile], {
      // Its own HOME too: kernelspecs and Jupyter files it writes stay out of everyone else's way.
      env: { PATH: process.env.PATH, HOME: this.stateHome, XDG_STATE_HOME: this.stateHome },
      stdio: ['ignore', 'ignore', 'pipe']
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const child = this.child;
    // A companion that dies on its own takes the reason with it: print what it said last.
    child.once('exit', (code, signal) => {
      if (child.killedByTest || code === 0) return;
      console.error(`the companion exited by itself (${code ?? signal}):\n${this.stderr.slice(-6000)}`);
    });
    const info = await waitFor(
      'the companion runtime file',
      async () => JSON.parse(await fs.readFile(runtime, 'utf8')),
      30_000
    ).catch(err => {
      throw new Error(`${err.message}\n${this.stderr}`);
    });
    this.url = info.url;
    this.token = info.token;
  }

  /** Like a crash: no drain, no cleanup. */
  kill9(): Promise<void> {
    return new Promise(resolve => {
      if (!this.child || this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.killedByTest = true;
      this.child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise(resolve => this.child!.once('exit', resolve));
    this.child.killedByTest = true;
    this.child.kill('SIGTERM');
    // Unref'd: a companion that exits at once must not leave a 5 s timer holding jest open.
    await Promise.race([exited, new Promise(r => setTimeout(r, 5000).unref())]);
    await this.kill9();
  }

  fetch(pathname: string, init: RequestInit = {}): Promise<Response> {
    return fetch(new URL(pathname, this.url), {
      ...init,
      redirect: 'manual',
      headers: { Authorization: `token ${this.token}`, ...(init.headers ?? {}) }
    });
  }

  async json<T>(pathname: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(pathname, {
      ...init,
      headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) }
    });
    const body = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${pathname}: ${res.status} ${body}`);
    return JSON.parse(body) as T;
  }
}

/** Runs code on a Jupyter kernel over the kernel's WebSocket and returns what it printed. */
export async function runOnKernel(wsUrl: string, headers: Record<string, string>, code: string): Promise<string> {
  const ws = new WebSocket(wsUrl, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
  });
  const msgId = `hpclab-test-${Math.random().toString(36).slice(2)}`;
  const session = `s-${msgId}`;
  const output = new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no reply to ${code}; got ${JSON.stringify(text)}`)), 30_000);
    ws.on('message', raw => {
      const msg = JSON.parse(raw.toString());
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === 'stream') text += msg.content.text;
      if (msg.msg_type === 'error') text += `${msg.content.ename}: ${msg.content.evalue}`;
      if (msg.msg_type === 'status' && msg.content.execution_state === 'idle') {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
  ws.send(
    JSON.stringify({
      header: {
        msg_id: msgId,
        username: 'test',
        session,
        msg_type: 'execute_request',
        version: '5.3',
        date: new Date().toISOString()
      },
      parent_header: {},
      metadata: {},
      content: {
        code,
        silent: false,
        store_history: true,
        user_expressions: {},
        allow_stdin: false,
        stop_on_error: true
      },
      buffers: [],
      channel: 'shell'
    })
  );
  try {
    return await output;
  } finally {
    ws.close();
  }
}
