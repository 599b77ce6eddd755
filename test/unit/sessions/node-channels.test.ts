import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../../../server/log';
import { NodeChannels, relayCommand, RELAY_STEP_NAME, type NodeRef } from '../../../server/sessions/node-channels';
import { hubArgs } from '../../../server/sessions/hub-script';
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

describe('the bulk lane: the relay dials out to the hub, bytes skip stdio', () => {
  let dir: string;
  const servers: net.Server[] = [];
  const BIG = randomBytes(10 * 1024 * 1024);
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-bulk-'));
    await fs.chmod(dir, 0o700);
    const serve = async (name: string, handler: (s: net.Socket) => void) => {
      const server = net.createServer(handler).listen(path.join(dir, name));
      servers.push(server);
      await new Promise(resolve => server.once('listening', resolve));
    };
    await serve('echo.sock', socket => socket.pipe(socket));
    await serve('big.sock', socket => {
      socket.on('error', () => undefined); // a reader may stop early; nothing to report
      socket.end(BIG);
    });
  });
  afterAll(async () => {
    for (const server of servers) server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const ref = (key: string): NodeRef => ({
    key,
    cluster: 'here',
    transport: new LocalTransport('here'),
    jobId: '42',
    socketDir: dir,
    relayPython: 'python3'
  });
  // srun tells a step where it was launched from; here the hub is on this host.
  const pool = (launchHost: string | null) =>
    new NodeChannels({
      logger,
      command: r => [
        'env',
        ...(launchHost ? [`SLURM_LAUNCH_NODE_IPADDR=${launchHost}`] : []),
        'python3',
        ...relayArgs(r.socketDir)
      ],
      hubCommand: address => ['python3', ...hubArgs(address)]
    });

  test('a 10 MiB download and an echo arrive whole, and the session says the lane is on', async () => {
    const channels = pool('127.0.0.1');
    try {
      const [big, echo] = await Promise.all([
        channels.openBulk(ref('b1'), 'big.sock'),
        channels.openBulk(ref('b1'), 'echo.sock')
      ]);
      const download = readAll(big);
      echo.end('through the hub');
      expect((await readAll(echo)).toString()).toBe('through the hub');
      expect((await download).equals(BIG)).toBe(true);
      expect(channels.status('b1')).toMatchObject({ state: 'up', bulk: 'on', bulkError: null });
    } finally {
      channels.close();
    }
  }, 30_000);

  test('without a way to the login node, streams go through the relay, and the reason is kept', async () => {
    const channels = pool(null);
    try {
      const echo = await channels.openBulk(ref('b2'), 'echo.sock');
      echo.end('through stdio');
      expect((await readAll(echo)).toString()).toBe('through stdio');
      expect(channels.status('b2')).toMatchObject({
        bulk: 'off',
        bulkError: expect.stringMatching(/SLURM_LAUNCH_NODE_IPADDR/)
      });
      expect(entries.join('')).toMatch(/session b2: the bulk lane \(node to login node\) does not work/);
    } finally {
      channels.close();
    }
  }, 30_000);

  test("the hub joins only connections that bring a secret it was told, and closes a stranger's", async () => {
    const hub = spawn('python3', hubArgs('127.0.0.1'), { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      const port: number = await new Promise(resolve =>
        hub.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()).port))
      );
      /** What a connection hears before it is closed; `(open)` if still open after `waitMs`. */
      const talk = (greeting: string, payload = '', waitMs = 1500) =>
        new Promise<string>(resolve => {
          const socket = net.connect(port, '127.0.0.1', () => socket.write(greeting + payload));
          let got = '';
          socket.on('data', d => (got += d));
          socket.on('end', () => resolve(got));
          // Closed with our bytes unread, the hub's side resets: refused all the same.
          socket.on('error', () => resolve(got));
          setTimeout(() => {
            resolve(`${got}(open)`);
            socket.destroy();
          }, waitMs).unref();
        });
      const allow = (secret: string) => hub.stdin.write(`ALLOW ${secret}\n`);
      const secret = randomBytes(32).toString('hex');
      const late = randomBytes(32).toString('hex');
      allow(secret);
      await new Promise(r => setTimeout(r, 100));
      // Strangers hear nothing and are closed by the greeting deadline (5 s); so is a third
      // connection with a secret already used by a joined pair.
      const strangers = Promise.all([
        talk(`${randomBytes(32).toString('hex')}\n`, 'hello', 7000),
        talk('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'x'.repeat(40), '', 7000)
      ]);
      const [a, b] = await Promise.all([talk(`${secret}\n`, 'from a'), talk(`${secret}\n`, 'from b')]);
      expect([a, b].sort()).toEqual(['from a(open)', 'from b(open)']);
      const reused = talk(`${secret}\n`, 'again', 7000);
      // A secret allowed a moment after its first connection arrived (the ALLOW travels on
      // another SSH channel): still joined.
      const first = talk(`${late}\n`, 'early', 2500);
      await new Promise(r => setTimeout(r, 300));
      allow(late);
      const second = await talk(`${late}\n`, 'late', 2000);
      // Each heard the other (the first then saw the second close).
      expect(second).toBe('early(open)');
      expect(await first).toMatch(/^late/);
      expect(await strangers).toEqual(['', '']);
      expect(await reused).toBe('');
    } finally {
      hub.stdin.end();
      await new Promise(r => hub.on('exit', r));
    }
  }, 30_000);
});
