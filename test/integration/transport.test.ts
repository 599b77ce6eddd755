import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ClusterRegistry } from '../../server/app';
import type { Transport } from '../../server/transport/types';
import { registry, scratchName } from '../support/clusters';
import { testbed, waitFor } from '../support/testbed';

/** Both transports must behave the same for everything above them. */
describe.each(['local', 'testbed'])('%s transport against the real testbed', cluster => {
  let clusters: ClusterRegistry;
  let t: Transport;

  beforeAll(async () => {
    clusters = await registry();
    t = clusters.get(cluster).transport;
  });
  afterAll(() => clusters.close());

  it('passes every argv word through verbatim, shell metacharacters included', async () => {
    const canary = scratchName('canary');
    const words = [
      'a b',
      "it's",
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `x; touch ${canary}`,
      'line1\nline2',
      '*',
      '~',
      '',
      'ünï',
      '-n'
    ];
    const r = await t.exec(['printf', '%s\\0', ...words]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(words);
    expect(existsSync(canary)).toBe(false);
  });

  it('feeds stdin and reports exit codes, and 127 for a missing command', async () => {
    expect((await t.exec(['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    expect((await t.exec(['sh', '-c', 'echo oops >&2; exit 3'])).code).toBe(3);
    const missing = await t.exec(['hpclab-no-such-command']);
    expect(missing.code).toBe(127);
  });

  it('kills a command past its timeout and one that prints too much', async () => {
    await expect(t.exec(['sleep', '20'], { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'timeout' });
    await expect(t.exec(['head', '-c', '1000000', '/dev/zero'], { maxOutputBytes: 1000 })).rejects.toMatchObject({
      kind: 'output-limit'
    });
    // The connection is still good afterwards.
    expect((await t.exec(['echo', 'ok'])).stdout).toBe('ok\n');
  });

  it('writes files 0600 atomically and reads them back', async () => {
    const file = scratchName(`file-${cluster}`);
    await t.writeFile(file, 'secret\n');
    expect((await t.readFile(file)).toString()).toBe('secret\n');
    expect((await t.exec(['stat', '-c', '%a', file])).stdout.trim()).toBe('600');
    expect((await t.readFile(file, { maxBytes: 3 })).toString()).toBe('sec');
    await t.exec(['rm', '-f', file]);
  });

  it('keeps a command running with its stdio as streams, and ends it on kill', async () => {
    const cat = await t.execStream(['cat']);
    const chunks: Buffer[] = [];
    cat.stdout.on('data', (c: Buffer) => chunks.push(c));
    cat.stdin.write('first ');
    await waitFor('the first line back', async () => Buffer.concat(chunks).toString() === 'first ' || undefined);
    cat.stdin.end('second');
    expect(await cat.exited).toEqual({ code: 0, signal: null });
    expect(Buffer.concat(chunks).toString()).toBe('first second');

    const sleeper = await t.execStream(['sleep', '30']);
    const t0 = Date.now();
    sleeper.kill();
    const end = await sleeper.exited;
    expect(end.code === 0).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('opens a TCP stream to a port seen from the cluster side (the login sshd)', async () => {
    const { host, port } = testbed().ssh;
    const stream = await t.openStream({ host, port });
    const banner = await firstBytes(stream);
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
  });

  it('opens a stream to a unix socket served on the cluster side', async () => {
    const dir = scratchName(`sock-${cluster}`);
    const sock = `${dir}/echo.sock`;
    const server = [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(30)',
      'c, _ = s.accept(); c.sendall(b"echo:" + c.recv(100)); c.close()'
    ].join('\n');
    await t.exec(['mkdir', '-m', '700', dir]);
    await t.exec(['sh', '-c', 'python3 -c "$1" "$2" </dev/null >/dev/null 2>&1 &', 'sh', server, sock]);
    await waitFor('the socket', async () => (await t.exec(['test', '-S', sock])).code === 0);
    const stream = await t.openStream({ socketPath: sock });
    stream.write('ping');
    expect(await firstBytes(stream)).toBe('echo:ping');
    await t.exec(['rm', '-rf', dir]);
  });
});

function firstBytes(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    stream.once('data', (d: Buffer) => {
      resolve(d.toString());
      stream.destroy();
    });
    stream.once('error', reject);
  });
}
