import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../../server/log';
import { NodeChannels, relayCommand, RELAY_STEP_NAME, type NodeRef } from '../../../server/sessions/node-channels';
import { relayArgs } from '../../../server/sessions/relay-script';
import { LocalTransport } from '../../../server/transport/local';
import { RelayOpenError } from '../../../server/transport/relay/relay-mux';
import { readAll } from '../../support/streams';

/*
 * The companion's pool of relays (one per session's job): here the relay runs as a local
 * python3 process instead of an srun step, against unix servers in a 0700 directory.
 */

describe('NodeChannels', () => {
  let dir: string;
  let server: net.Server;
  let ref: NodeRef;
  const started: string[][] = [];
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-nc-'));
    await fs.chmod(dir, 0o700);
    server = net.createServer(socket => socket.pipe(socket)).listen(path.join(dir, 'echo.sock'));
    await new Promise(resolve => server.once('listening', resolve));
    ref = {
      key: 's1',
      cluster: 'here',
      transport: new LocalTransport('here'),
      jobId: '42',
      socketDir: dir,
      relayPython: 'python3'
    };
  });
  afterEach(async () => {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const pool = (idleMs?: number) =>
    new NodeChannels({
      logger,
      idleMs,
      command: r => {
        const argv = ['python3', ...relayArgs(r.socketDir)];
        started.push(argv);
        return argv;
      }
    });

  test('runs the relay as a step of the job, by name, with the recorded python', () => {
    const argv = relayCommand({ ...ref, relayPython: '/usr/bin/python3' });
    expect(argv.slice(0, 8)).toEqual([
      'srun',
      '--jobid=42',
      '--overlap',
      '--nodes=1',
      '--ntasks=1',
      '--quiet',
      `--job-name=${RELAY_STEP_NAME}`,
      '/usr/bin/python3'
    ]);
    expect(argv.at(-1)).toBe(dir);
    expect(argv).not.toContain('-u'); // a pty would be slower and is not needed
  });

  test('one relay carries every stream of a session; a missing socket is named', async () => {
    const channels = pool();
    started.length = 0;
    try {
      const [a, b] = await Promise.all([channels.open(ref, 'echo.sock'), channels.open(ref, 'echo.sock')]);
      expect(started).toHaveLength(1);
      expect(channels.status('s1')).toMatchObject({ state: 'up', starts: 1, lastError: null });
      a.end('hello');
      b.end('world');
      expect((await readAll(a)).toString()).toBe('hello');
      expect((await readAll(b)).toString()).toBe('world');
      await expect(channels.open(ref, 'nothing.sock')).rejects.toThrow(RelayOpenError);
      await expect(channels.open(ref, '../escape')).rejects.toThrow(/bad-name/);
    } finally {
      channels.close();
    }
  });

  test('a relay that ended is started again by the next open; forget ends it', async () => {
    const channels = pool();
    started.length = 0;
    try {
      const first = await channels.open(ref, 'echo.sock');
      first.destroy();
      channels.forget('s1');
      expect(channels.status('s1').state).toBe('down');
      const again = await channels.open(ref, 'echo.sock');
      again.end('x');
      expect((await readAll(again)).toString()).toBe('x');
      expect(started).toHaveLength(2);
    } finally {
      channels.close();
    }
  });

  test('a relay that cannot start says why (its stderr), and is not retried at once', async () => {
    const channels = pool();
    const bad = { ...ref, key: 's2', socketDir: path.join(dir, 'missing') };
    try {
      await expect(channels.open(bad, 'echo.sock')).rejects.toThrow(/the relay into job 42 failed: .*cannot stat/);
      const starts = channels.status('s2').starts;
      await expect(channels.open(bad, 'echo.sock')).rejects.toThrow(/failed/);
      expect(channels.status('s2')).toMatchObject({ state: 'down', starts });
      expect(entries.join('')).toMatch(/session s2: the relay into job 42 failed/);
    } finally {
      channels.close();
    }
  });

  test('a relay without streams for idleMs ends, freeing its step', async () => {
    const channels = pool(200);
    try {
      const s = await channels.open(ref, 'echo.sock');
      s.destroy();
      await new Promise(r => setTimeout(r, 600));
      expect(channels.status('s1').state).toBe('down');
    } finally {
      channels.close();
    }
  });
});
