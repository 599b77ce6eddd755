import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { readAll } from '../../support/streams';
import { relayArgs } from '../../../server/sessions/relay-script';
import { encodeFrame, FrameReader, FrameType, HANDSHAKE, MAX_PAYLOAD } from '../../../server/transport/relay/frames';
import { RelayMux, RelayOpenError } from '../../../server/transport/relay/relay-mux';

/*
 * The relay that will carry a job's private sockets to the companion (issue 16): the frame
 * codec alone, then the real relay program (run here with python3, as srun would run it on the
 * node) behind the companion's mux, against unix servers in a 0700 directory.
 */

describe('frames', () => {
  const frames = [
    encodeFrame(FrameType.Hello, 0, Buffer.from('{"version":1}')),
    encodeFrame(FrameType.Data, 7, randomBytes(MAX_PAYLOAD)),
    encodeFrame(FrameType.Eof, 7),
    encodeFrame(FrameType.Credit, 4_000_000_000, Buffer.from([0, 1, 0, 0]))
  ];
  const stream = Buffer.concat([Buffer.from('Welcome to the cluster\n\0'), HANDSHAKE, ...frames]);

  test('the same frames whatever the chunks, banner skipped', () => {
    const whole = new FrameReader().push(stream);
    expect(whole.map(f => [f.type, f.channel, f.payload.length])).toEqual([
      [FrameType.Hello, 0, 13],
      [FrameType.Data, 7, MAX_PAYLOAD],
      [FrameType.Eof, 7, 0],
      [FrameType.Credit, 4_000_000_000, 4]
    ]);
    for (const size of [1, 2, 9, 10, 271, 65_537]) {
      const reader = new FrameReader();
      const got = [];
      for (let at = 0; at < stream.length; at += size) got.push(...reader.push(stream.subarray(at, at + size)));
      expect(got).toEqual(whole);
    }
  });

  test('a changed handshake, an oversized frame and endless junk are refused', () => {
    const changed = Buffer.from(HANDSHAKE);
    changed[HANDSHAKE.length - 1] = 0x0a;
    expect(() => new FrameReader().push(changed)).toThrow(/not 8-bit clean/);
    const big = Buffer.alloc(9);
    big.writeUInt32BE(MAX_PAYLOAD + 1, 5);
    expect(() => new FrameReader().push(Buffer.concat([HANDSHAKE, big]))).toThrow(/at most 65536/);
    expect(() => new FrameReader().push(Buffer.alloc(70_000, 'x'))).toThrow(/no relay greeting/);
    expect(() => encodeFrame(FrameType.Data, 1, Buffer.alloc(MAX_PAYLOAD + 1))).toThrow(RangeError);
  });
});

describe('the relay behind the mux', () => {
  let dir: string;
  let relay: ChildProcess;
  let mux: RelayMux;
  let stderr = '';
  const servers: net.Server[] = [];

  /** A unix server in the relay's directory. */
  async function serve(name: string, onConnection: (socket: net.Socket) => void): Promise<void> {
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>(resolve => server.listen(path.join(dir, name), resolve));
  }

  function start(args: string[] = []): void {
    relay = spawn('python3', [...relayArgs(dir), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    relay.stderr!.on('data', d => (stderr += d));
    mux = new RelayMux({ stdin: relay.stdin!, stdout: relay.stdout! });
  }

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-relay-'));
    await fs.chmod(dir, 0o700);
    await serve('echo.sock', socket => socket.pipe(socket));
    // 20 MiB of random bytes, then the end.
    await serve('big.sock', socket => {
      socket.on('error', () => undefined); // the test reading it may close early; nothing to report
      socket.end(BIG);
    });
    await serve('hash.sock', socket => {
      const hash = createHash('sha256');
      socket.on('data', d => hash.update(d));
      socket.on('end', () => socket.end(hash.digest('hex')));
    });
    await fs.writeFile(path.join(dir, 'plain-file'), 'not a socket');
    start();
  });
  afterAll(async () => {
    mux?.close();
    for (const s of servers) s.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const BIG = randomBytes(20 * 1024 * 1024);

  test('greets with its version, then echoes through a channel both ways', async () => {
    expect(await mux.ready).toMatchObject({ version: 1, pid: relay.pid });
    const echo = await mux.open('echo.sock');
    const got = readAll(echo);
    echo.write('hello ');
    echo.end('relay');
    // The echo server ends when we do: our EOF reached it, its EOF came back.
    expect((await got).toString()).toBe('hello relay');
  });

  test('a 20 MiB download arrives whole under the channel window, beside an echo and an upload', async () => {
    const [big, echo, hash] = await Promise.all([mux.open('big.sock'), mux.open('echo.sock'), mux.open('hash.sock')]);
    const download = readAll(big);
    const upload = randomBytes(5 * 1024 * 1024);
    const hashed = readAll(hash);
    hash.end(upload);
    const echoed = readAll(echo);
    for (let i = 0; i < 50; i++) echo.write(`line ${i}\n`);
    echo.end();
    expect((await download).equals(BIG)).toBe(true);
    expect((await hashed).toString()).toBe(createHash('sha256').update(upload).digest('hex'));
    expect((await echoed).toString().split('\n')).toHaveLength(51);
  });

  test('a slow reader holds back only its own channel', async () => {
    const big = await mux.open('big.sock');
    big.pause(); // nothing read: the relay must stop at the window, not fill the shared stream
    await new Promise(r => setTimeout(r, 300));
    const echo = await mux.open('echo.sock');
    const t0 = Date.now();
    const got = readAll(echo);
    echo.end('still moving');
    expect((await got).toString()).toBe('still moving');
    expect(Date.now() - t0).toBeLessThan(2000);
    big.destroy();
  });

  test.each([
    ['../escape.sock', 'bad-name'],
    ['sub/dir.sock', 'bad-name'],
    ['.hidden', 'bad-name'],
    ['missing.sock', 'ENOENT'],
    ['plain-file', 'not-a-socket']
  ])('refuses to open %j: %s', async (name, code) => {
    const err = await mux.open(name).catch(e => e);
    expect(err).toBeInstanceOf(RelayOpenError);
    expect(err.code).toBe(code);
  });

  test('every channel ends with the reason when the relay dies', async () => {
    const echo = await mux.open('echo.sock');
    const closed = new Promise<Error | undefined>(resolve =>
      echo.on('close', () => resolve(echo.errored ?? undefined))
    );
    echo.on('error', () => undefined); // the reason is read from `errored` below
    relay.kill('SIGKILL');
    expect((await closed)?.message).toBe('the relay ended');
    await expect(mux.open('echo.sock')).rejects.toThrow('the relay ended');
    expect(mux.channelCount).toBe(0);
  });

  test('refuses a directory others can enter, and exits alone when the companion goes silent', async () => {
    const open = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-relay-open-'));
    await fs.chmod(open, 0o755);
    const refused = spawn('python3', relayArgs(open), { stdio: ['pipe', 'pipe', 'pipe'] });
    let why = '';
    refused.stderr.on('data', d => (why += d));
    expect(await new Promise(r => refused.on('exit', r))).toBe(3);
    expect(why).toMatch(/must be a directory of yours with mode 0700/);
    await fs.rm(open, { recursive: true });

    // Handshake only, then silence (a login node rebooted under it): gone after its idle time.
    const orphan = spawn('python3', relayArgs(dir, 1), { stdio: ['pipe', 'pipe', 'pipe'] });
    orphan.stdin.write(HANDSHAKE);
    const t0 = Date.now();
    expect(await new Promise(r => orphan.on('exit', r))).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  test('answers each burst of the companion at once (padding if it has nothing to say), but not padding alone', async () => {
    // Slurm's step I/O keeps Nagle on: a second small message waits for an ACK that only data
    // going the other way brings at once. So every burst but bare padding gets an answer.
    const raw = spawn('python3', relayArgs(dir), { stdio: ['pipe', 'pipe', 'pipe'] });
    const reader = new FrameReader();
    const frames: number[] = [];
    raw.stdout.on('data', (d: Buffer) => frames.push(...reader.push(d).map(f => f.type)));
    // Wait for the answers rather than a fixed time: python3 starts slowly on a loaded machine.
    // A short pause after they arrive lets any extra frame show up, which would fail the test.
    const answered = async (count: number) => {
      const deadline = Date.now() + 10_000;
      while (frames.length < count && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
      await new Promise(r => setTimeout(r, 150));
      return frames.splice(0);
    };
    raw.stdin.write(HANDSHAKE);
    expect(await answered(2)).toEqual([FrameType.Hello, FrameType.Pad]);
    raw.stdin.write(encodeFrame(FrameType.Credit, 99, Buffer.from([0, 0, 0, 1]))); // for no channel: nothing to do
    expect(await answered(1)).toEqual([FrameType.Pad]);
    raw.stdin.write(encodeFrame(FrameType.Data, 99, Buffer.from('x')).subarray(0, 5)); // half a frame
    expect(await answered(1)).toEqual([FrameType.Pad]);
    raw.stdin.write(
      Buffer.concat([
        encodeFrame(FrameType.Data, 99, Buffer.from('x')).subarray(5),
        encodeFrame(FrameType.Pad, 0, Buffer.from('\n'))
      ])
    );
    expect(await answered(1)).toEqual([FrameType.Pad]); // the rest of the frame: answered
    // Padding alone gets no answer, so answers never bounce back and forth. Its answer, were there
    // one, would come long before the credit that follows; the credit's answer must come alone.
    raw.stdin.write(encodeFrame(FrameType.Pad, 0, Buffer.from('\n')));
    await new Promise(r => setTimeout(r, 300));
    raw.stdin.write(encodeFrame(FrameType.Credit, 99, Buffer.from([0, 0, 0, 1])));
    expect(await answered(1)).toEqual([FrameType.Pad]);
    raw.stdin.end();
    expect(await new Promise(r => raw.on('exit', r))).toBe(0);
  });
});

describe('the mux, against a scripted relay', () => {
  test('writes the frames of one turn at once, and answers every burst from the relay', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const writes: Buffer[] = [];
    stdin.on('data', (d: Buffer) => writes.push(d));
    const mux = new RelayMux({ stdin, stdout });
    stdout.write(
      Buffer.concat([HANDSHAKE, encodeFrame(FrameType.Hello, 0, Buffer.from('{"version":1,"pid":1,"python":"3"}'))])
    );
    await mux.ready;
    const turn = () => new Promise(r => setImmediate(r));
    await turn();
    writes.length = 0;
    // Two opens in one turn: one write.
    const opens = Promise.all([mux.open('a.sock'), mux.open('b.sock')]);
    await turn();
    await turn();
    expect(writes).toHaveLength(1);
    expect(new FrameReader().push(Buffer.concat([HANDSHAKE, writes[0]])).map(f => f.type)).toEqual([
      FrameType.Open,
      FrameType.Open
    ]);
    writes.length = 0;
    // A burst from the relay (here, half a frame): answered with padding.
    stdout.write(encodeFrame(FrameType.Pong, 0).subarray(0, 4));
    await turn();
    await turn();
    expect(new FrameReader().push(Buffer.concat([HANDSHAKE, ...writes])).map(f => f.type)).toEqual([FrameType.Pad]);
    mux.close();
    await expect(opens).rejects.toThrow('the relay was closed'); // nobody answered them
  });

  test('a channel still opening when the relay dies: its open rejects, and nothing unheard ends the process', async () => {
    // A kernel's launcher keeps opening channels while its kernel ends with the job step; a
    // browser test saw the relay end under such an open and the companion die of an 'error'
    // event on a stream that had never been handed out.
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const mux = new RelayMux({ stdin, stdout });
    stdout.write(
      Buffer.concat([HANDSHAKE, encodeFrame(FrameType.Hello, 0, Buffer.from('{"version":1,"pid":1,"python":"3"}'))])
    );
    await mux.ready;
    const unheard: unknown[] = [];
    const listener = (err: unknown) => unheard.push(err);
    process.on('uncaughtException', listener);
    try {
      const opening = mux.open('k-1');
      await new Promise(r => setImmediate(r));
      stdout.end(); // the relay ended before it answered
      await expect(opening).rejects.toThrow('the relay ended');
      await new Promise(r => setTimeout(r, 50)); // an 'error' event would come on a later tick
      expect(unheard).toEqual([]);
      expect(mux.channelCount).toBe(0);
    } finally {
      process.off('uncaughtException', listener);
    }
  });
});
