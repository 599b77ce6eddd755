import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection } from 'ssh2';
import { TransportError } from '../../../server/transport/errors';
import { connectChain } from '../../../server/transport/ssh/connect';
import { hopsFor } from '../../../server/transport/ssh/hops';
import { expandProxyCommand } from '../../../server/transport/ssh/proxy-command';
import { readSshConfig, resolveSshTarget } from '../../../server/transport/ssh/ssh-config';
import { SshTransport } from '../../../server/transport/ssh/ssh-transport';

// Spawns real processes and makes real SSH logins: allow more than jest's default 5 s.
jest.setTimeout(30_000);

describe('ProxyCommand token expansion', () => {
  const resolve = (text: string, host = 'hpc') =>
    resolveSshTarget({ host }, { sshConfigText: text, homeDir: '/home/me', localUser: 'me' });
  const configError = (fn: () => unknown): TransportError => {
    try {
      fn();
    } catch (err) {
      expect(err).toMatchObject({ kind: 'config' });
      return err as TransportError;
    }
    throw new Error('expected a config error');
  };
  /** The message of the config error that `Host hpc` with these lines gives. */
  const refused = (...lines: string[]) =>
    configError(() => resolve(`Host hpc\n${lines.map(l => `  ${l}\n`).join('')}`)).message;

  it('expands %h %p %r %n and %% as ssh does', () => {
    const written = 'ssh gw exec nc %h %p # %r %n 100%%';
    const t = resolve(`Host hpc\n  HostName login.example.org\n  User alice\n  Port 2200\n  ProxyCommand ${written}\n`);
    expect(t.proxyCommand).toEqual({ command: 'ssh gw exec nc login.example.org 2200 # alice hpc 100%', written });
    const values = { hostName: 'fe80::1', port: 22, user: 'first.last@corp', alias: 'a' };
    expect(expandProxyCommand('x %h %% %p %r', values).command).toBe('x fe80::1 % 22 first.last@corp');
  });

  it('refuses an unknown token, naming the host and the token', () => {
    expect(refused('ProxyCommand nc %h %p %C')).toMatch(/ProxyCommand for hpc .*the token %C/);
    expect(refused('ProxyCommand nc %h %p %')).toMatch(/lone %/);
  });

  it('refuses a value that is not a plain host, user or alias, naming the field', () => {
    expect(refused('HostName a;touch /tmp/x', 'ProxyCommand nc %h %p')).toMatch(/HostName "a;touch \/tmp\/x" \(%h\)/);
    expect(refused('HostName -oProxyCommand', 'ProxyCommand nc %h %p')).toMatch(/HostName "-oProxyCommand"/);
    expect(refused('User $(reboot)', 'ProxyCommand ssh %r@gw nc %h %p')).toMatch(/User "\$\(reboot\)" \(%r\)/);
    expect(refused('HostName a@b', 'ProxyCommand nc %h %p')).toMatch(/HostName "a@b"/);
    // A value the command does not use is not checked: it never reaches the shell.
    expect(resolve('Host hpc\n  User $(reboot)\n  ProxyCommand nc %h %p\n').proxyCommand?.command).toBe('nc hpc 22');
  });

  it('refuses ProxyUseFdpass, which needs a unix socket where we give a pipe', () => {
    expect(refused('ProxyCommand nc %h %p', 'ProxyUseFdpass yes')).toMatch(/ProxyUseFdpass/);
  });
});

/** An in-process SSH server reached only through a real ProxyCommand subprocess (a TCP relay). */
describe('connecting through a ProxyCommand', () => {
  const hostKey = utils.generateKeyPairSync('ed25519');
  let server: Server;
  let port: number;
  let dir: string;
  let home: string;
  let relay: string;
  let logins = 0;
  const logged: string[] = [];
  const open: SshTransport[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-proxycmd-'));
    home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    const userKey = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
    const userKeyBlob = Buffer.from(readFileSync(`${userKey}.pub`, 'utf8').split(' ')[1], 'base64');
    server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      client.on('authentication', ctx => {
        if (ctx.method === 'publickey' && ctx.key.data.equals(userKeyBlob)) return ctx.accept();
        ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        logins++;
        client.on('session', accept => {
          accept().once('exec', (acceptExec, _reject, info) => {
            const stream = acceptExec();
            stream.write(`ran: ${info.command}\n`);
            stream.exit(0);
            stream.end();
          });
        });
      });
      // A client killed mid-connection resets the socket; that is what some tests do on purpose.
      client.on('error', err => logged.push(`server: ${err.message}`));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const key = hostKey.public.split(' ').slice(0, 2).join(' ');
    await fs.writeFile(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${key}\n`);
    // The relay: what `nc %h %p` does, plus a pid file, and on request no exit on EOF or SIGHUP.
    relay = path.join(dir, 'relay.js');
    await fs.writeFile(
      relay,
      `const net = require('net');
const [host, port, pidFile, mode] = process.argv.slice(2);
require('fs').writeFileSync(pidFile, String(process.pid));
process.stderr.write('relay: connecting to ' + host + ':' + port + '\\n');
const socket = net.connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', err => { process.stderr.write('relay: ' + err.message + '\\n'); process.exit(2); });
if (mode === 'linger' || mode === 'stubborn') setInterval(() => undefined, 1000);
if (mode === 'stubborn') process.on('SIGHUP', () => process.stderr.write('relay: ignoring SIGHUP\\n'));
`
    );
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map(t => t.close()));
  });

  afterAll(async () => {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A transport to alias `tb`, whose ~/.ssh/config entry ends with `extra` lines. */
  async function transportWith(
    extra: string,
    options: { hostName?: string; connectTimeoutSec?: number; knownHosts?: string } = {}
  ) {
    const lines = [
      'Host tb',
      `HostName ${options.hostName ?? '127.0.0.1'}`,
      `Port ${port}`,
      'User researcher',
      `IdentityFile ${path.join(dir, 'id_ed25519')}`,
      `UserKnownHostsFile ${options.knownHosts ?? path.join(dir, 'known_hosts')}`,
      `ConnectTimeout ${options.connectTimeoutSec ?? 10}`
    ];
    await fs.writeFile(path.join(home, '.ssh', 'config'), `${lines.join('\n  ')}\n  ${extra}`);
    const transport = new SshTransport({
      cluster: 'pc',
      maxChannels: 4,
      backoffMs: { first: 50, max: 200 },
      connect: async () => {
        const hops = hopsFor(
          { host: 'tb' },
          { homeDir: home, localUser: 'me', sshConfigText: await readSshConfig(home) }
        );
        return connectChain(hops, { cluster: 'pc', log: message => logged.push(message) });
      }
    });
    open.push(transport);
    return transport;
  }

  const pidFile = (name: string) => path.join(dir, `${name}.pid`);
  const relayCommand = (name: string, mode = '') =>
    `ProxyCommand '${process.execPath}' '${relay}' %h %p '${pidFile(name)}' ${mode}\n`;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // ESRCH: no such process, which is what these tests wait for.
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  };
  async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000) {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise(r => setTimeout(r, 50));
    }
  }
  const pidOf = (name: string) => Number(readFileSync(pidFile(name), 'utf8'));

  it('runs a command over SSH through the ProxyCommand and logs its stderr with context', async () => {
    const before = logins;
    const transport = await transportWith(relayCommand('plain'));
    const r = await transport.exec(['hostname']);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ran: .*hostname/) });
    expect((await transport.exec(['echo', 'again'])).stdout).toMatch(/again/);
    expect([logins - before, transport.connections]).toEqual([1, 1]);
    const stderrLine = new RegExp(
      `^ProxyCommand ".*relay\\.js' %h %p .*": relay: connecting to 127\\.0\\.0\\.1:${port}$`
    );
    expect(logged).toContainEqual(expect.stringMatching(stderrLine));
  });

  it('treats the command exiting after the handshake as a dropped connection, and reconnects', async () => {
    const transport = await transportWith(relayCommand('drop'));
    await transport.exec(['true']);
    const first = pidOf('drop');
    process.kill(first, 'SIGKILL');
    await waitUntil('the drop to be noticed', () => transport.connectionState === 'disconnected');
    expect(logged).toContainEqual(expect.stringMatching(/relay\.js.*" was killed by SIGKILL$/));
    expect((await transport.exec(['echo', 'after'])).stdout).toMatch(/after/);
    expect(transport.connections).toBe(2);
    expect(pidOf('drop')).not.toBe(first);
  });

  it('fails with the command, its exit code and its last stderr lines when it exits before the handshake', async () => {
    const transport = await transportWith(
      "ProxyCommand sh -c 'echo connecting to gateway >&2; echo gateway says no >&2; exit 3'\n"
    );
    const err = await transport.exec(['true']).catch(e => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ kind: 'unreachable', cluster: 'pc' });
    expect(err.message).toBe(
      `ProxyCommand "sh -c 'echo connecting to gateway >&2; echo gateway says no >&2; exit 3'" exited with code 3 ` +
        'before the SSH handshake: connecting to gateway | gateway says no'
    );
  });

  it('says when $SHELL cannot start the command', async () => {
    const saved = process.env.SHELL;
    process.env.SHELL = path.join(dir, 'no-such-shell');
    try {
      const transport = await transportWith('ProxyCommand nc %h %p\n');
      await expect(transport.exec(['true'])).rejects.toMatchObject({
        kind: 'unreachable',
        message: expect.stringMatching(/^ProxyCommand "nc %h %p" could not be started with .*no-such-shell: .*ENOENT/)
      });
    } finally {
      // Assigning undefined would store the string "undefined": unset it instead.
      if (saved === undefined) delete process.env.SHELL;
      else process.env.SHELL = saved;
    }
  });

  it('runs nothing when a value is refused', async () => {
    const marker = path.join(dir, 'pwned');
    const transport = await transportWith('ProxyCommand nc %h %p\n', { hostName: `a;touch ${marker}` });
    const refusal = { kind: 'config', message: expect.stringMatching(/HostName "a;touch/) };
    await expect(transport.exec(['true'])).rejects.toMatchObject(refusal);
    expect(existsSync(marker)).toBe(false);
  });

  it('stops the command when the transport closes, with SIGHUP after stdin ends, as OpenSSH does', async () => {
    const transport = await transportWith(relayCommand('linger', 'linger'));
    await transport.exec(['true']);
    const pid = pidOf('linger');
    expect(alive(pid)).toBe(true);
    await transport.close();
    await waitUntil('the ProxyCommand to be stopped', () => !alive(pid), 3_000);
    expect(logged).toContainEqual(
      expect.stringMatching(/linger\.pid' linger" did not exit when its connection ended; sent SIGHUP$/)
    );
    expect(logged).not.toContainEqual(expect.stringMatching(/linger\.pid' linger" did not exit .* sent SIGKILL$/));
  });

  it('kills a command that ignores SIGHUP', async () => {
    const transport = await transportWith(relayCommand('stubborn', 'stubborn'));
    await transport.exec(['true']);
    const pid = pidOf('stubborn');
    await transport.close();
    await waitUntil('the ProxyCommand to be killed', () => !alive(pid), 8_000);
    expect(logged).toContainEqual(expect.stringMatching(/relay: ignoring SIGHUP$/));
    expect(logged).toContainEqual(expect.stringMatching(/did not exit when its connection ended; sent SIGKILL$/));
  });

  it('stops the command when the handshake fails, and keeps the host key error', async () => {
    await fs.writeFile(path.join(dir, 'known_hosts_empty'), '');
    const knownHosts = path.join(dir, 'known_hosts_empty');
    const transport = await transportWith(relayCommand('hostkey', 'linger'), { knownHosts });
    await expect(transport.exec(['true'])).rejects.toMatchObject({ kind: 'host-key' });
    await waitUntil('the ProxyCommand to be stopped', () => !alive(pidOf('hostkey')), 3_000);
  });

  it('adds what a command that never answers printed to the timeout', async () => {
    const command = `sh -c 'echo "$$" > ${pidFile('silent')}; echo waiting for a 2FA push >&2; exec sleep 60'`;
    const transport = await transportWith(`ProxyCommand ${command}\n`, { connectTimeoutSec: 1 });
    const err = await transport.exec(['true']).catch(e => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(err.message).toMatch(/handshake.*\(ProxyCommand "sh -c .*" printed: waiting for a 2FA push\)$/);
    await waitUntil('the ProxyCommand to be stopped', () => !alive(pidOf('silent')), 3_000);
  });
});
