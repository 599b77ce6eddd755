import type { AddressInfo } from 'node:net';
import { Client, Server, utils, type Connection, type PseudoTtyInfo, type WindowChangeInfo } from 'ssh2';
import { createLogger } from '../../../server/log';
import { renderRemoteCommand } from '../../../server/transport/quote';
import { SshTransport } from '../../../server/transport/ssh/ssh-transport';
import type { PtyProcess } from '../../../server/transport/types';

/*
 * SshTransport.execPty against a real SSH server (ssh2's, in-process): the terminal request
 * carries the type and size, the command is the argv rendered by quote.ts, keys and output go
 * both ways with stderr merged, size changes arrive as window-change, the exit status is kept.
 * The "remote command" is a tiny line interpreter played by the server.
 */

interface Seen {
  command: string;
  pty: PseudoTtyInfo | undefined;
  windows: WindowChangeInfo[];
  closed: boolean;
}

describe('SshTransport.execPty', () => {
  const hostKey = utils.generateKeyPairSync('ed25519');
  let server: Server;
  let port: number;
  const seen: Seen[] = [];
  const connections: Connection[] = [];

  beforeAll(async () => {
    server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      connections.push(client);
      client.on('authentication', ctx => ctx.accept());
      client.on('ready', () =>
        client.on('session', accept => {
          const session = accept();
          const record: Seen = { command: '', pty: undefined, windows: [], closed: false };
          session.on('pty', (ok, _no, info) => {
            record.pty = info;
            ok?.();
          });
          session.on('window-change', (ok, _no, info) => {
            record.windows.push(info);
            ok?.();
          });
          session.on('exec', (ok, _no, info) => {
            record.command = info.command;
            seen.push(record);
            const stream = ok();
            stream.on('close', () => (record.closed = true));
            if (!record.pty) {
              stream.write('no terminal\n');
              stream.exit(0);
              stream.end();
              return;
            }
            let line = '';
            stream.on('data', (d: Buffer) => {
              line += d.toString();
              for (let nl = line.indexOf('\n'); nl >= 0; nl = line.indexOf('\n')) {
                const word = line.slice(0, nl);
                line = line.slice(nl + 1);
                const exit = /^exit (\d+)$/.exec(word);
                if (exit) {
                  stream.write('bye\n');
                  stream.exit(Number(exit[1]));
                  stream.end();
                } else if (word === 'err') stream.stderr.write('to stderr\n');
                else stream.write(`echo: ${word}\n`);
              }
            });
          });
        })
      );
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    // A test that failed half-way may have left its connection open; the server would wait for it.
    for (const c of connections) c.end();
    server.close();
  });

  const transport = (maxChannels = 4) =>
    new SshTransport({
      cluster: 'test',
      maxChannels,
      logger: createLogger({ level: 'error', write: () => undefined }),
      connect: () =>
        new Promise<Client>((resolve, reject) => {
          const client = new Client();
          client.once('ready', () => resolve(client));
          client.once('error', reject);
          client.connect({ host: '127.0.0.1', port, username: 'researcher' });
        })
    });

  /** Everything the process prints until `until` shows up. */
  function read(proc: PtyProcess, until: string): Promise<string> {
    return new Promise(resolve => {
      let text = '';
      const onData = (d: Buffer) => {
        text += d.toString();
        if (text.includes(until)) {
          proc.stdout!.off('data', onData);
          resolve(text);
        }
      };
      proc.stdout!.on('data', onData);
    });
  }

  it('runs the rendered argv on a terminal of the asked type and size, both ways, stderr merged, exit status kept', async () => {
    const t = transport();
    const argv = ['srun', '--jobid=7', '--overlap', '--pty', '-w', 'c1', 'echo', 'a; touch /tmp/x'];
    const proc = await t.execPty(argv, { term: 'xterm-256color', rows: 30, cols: 100 });
    const record = seen.at(-1)!;
    expect(record.command).toBe(renderRemoteCommand(argv));
    expect(record.command).toBe("srun --jobid=7 --overlap --pty -w c1 echo 'a; touch /tmp/x'");
    expect(record.pty).toMatchObject({ term: 'xterm-256color', rows: 30, cols: 100 });

    const echoed = read(proc, 'echo: hello\n');
    proc.stdin!.write('hello\n');
    expect(await echoed).toBe('echo: hello\n');
    const err = read(proc, 'to stderr\n');
    proc.stdin!.write('err\n');
    expect(await err).toBe('to stderr\n');

    proc.resize(40, 120);
    const after = read(proc, 'echo: sized\n');
    proc.stdin!.write('sized\n');
    await after;
    expect(record.windows).toEqual([expect.objectContaining({ rows: 40, cols: 120 })]);

    const bye = read(proc, 'bye\n');
    proc.stdin!.write('exit 3\n');
    await bye;
    expect(await proc.exited).toEqual({ code: 3, signal: null });
    await t.close();
  });

  it('holds no slot of the channel limiter: commands still run while a shell is open', async () => {
    const t = transport(1);
    const shell = await t.execPty(['bash'], { term: 'vt100', rows: 24, cols: 80 });
    const r = await t.exec(['squeue', '--me']);
    expect(r).toMatchObject({ code: 0, stdout: 'no terminal\n' });
    shell.kill();
    await shell.exited;
    await t.close();
  });

  it('hangs up on kill: the channel closes and the end reads as SIGHUP', async () => {
    const t = transport();
    const proc = await t.execPty(['bash', '-l'], { term: 'vt100', rows: 24, cols: 80 });
    const record = seen.at(-1)!;
    proc.kill();
    expect(await proc.exited).toEqual({ code: null, signal: 'HUP' });
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(record.closed).toBe(true);
    await t.close();
  });

  it('ends with its connection', async () => {
    const t = transport();
    const proc = await t.execPty(['bash'], { term: 'vt100', rows: 24, cols: 80 });
    connections.at(-1)!.end();
    expect(await proc.exited).toEqual({ code: null, signal: 'HUP' });
    await t.close();
  });

  it('refuses an empty command', async () => {
    await expect(transport().execPty([], { term: 'vt100', rows: 24, cols: 80 })).rejects.toThrow(TypeError);
  });
});
