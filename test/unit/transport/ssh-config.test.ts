import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TransportError } from '../../../server/transport/errors';
import { proxyCommandAsJump } from '../../../server/transport/ssh/proxy-command';
import {
  readSshConfig,
  resolveSshTarget,
  type ResolvedSshTarget,
  type SshTargetInput
} from '../../../server/transport/ssh/ssh-config';

const HOME = '/home/me';
const resolve = (input: string | SshTargetInput, sshConfigText?: string): ResolvedSshTarget =>
  resolveSshTarget(typeof input === 'string' ? { host: input } : input, {
    sshConfigText,
    homeDir: HOME,
    localUser: 'me'
  });
const hopsOf = (t: ResolvedSshTarget) => t.jumps.map(j => `${j.user}@${j.hostName}:${j.port}`);
const configError = (fn: () => unknown, message: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('config');
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected a config error');
};

describe('resolveSshTarget', () => {
  it('uses our defaults when there is no ~/.ssh/config', () => {
    expect(resolve('login.example.org')).toEqual({
      alias: 'login.example.org',
      hostName: 'login.example.org',
      port: 22,
      user: 'me',
      identityFiles: ['/home/me/.ssh/id_ed25519', '/home/me/.ssh/id_ecdsa', '/home/me/.ssh/id_rsa'],
      identityFilesAreDefaults: true,
      identitiesOnly: false,
      knownHostsFiles: ['/home/me/.ssh/known_hosts', '/home/me/.ssh/known_hosts2'],
      serverAliveIntervalSec: 15,
      serverAliveCountMax: 3,
      connectTimeoutSec: 20,
      jumps: []
    });
  });

  it('reads an alias, expands ~ and %-tokens, and keys are case-insensitive', () => {
    const t = resolve(
      'hpc',
      `
Host hpc
  hOsTnAmE %h.cluster.example.org
  USER alice
  port=2222
  IdentityFile ~/.ssh/hpc_%r@%h
  IdentityFile "%d/keys/%u %%"
  identitiesonly yes
  UserKnownHostsFile ~/.ssh/kh_a /etc/kh_b
  ServerAliveInterval 0
  ServerAliveCountMax 5
  ConnectTimeout 7
`
    );
    expect(t).toMatchObject({
      hostName: 'hpc.cluster.example.org',
      user: 'alice',
      port: 2222,
      identityFiles: ['/home/me/.ssh/hpc_alice@hpc.cluster.example.org', '/home/me/keys/me %'],
      identityFilesAreDefaults: false,
      identitiesOnly: true,
      knownHostsFiles: ['/home/me/.ssh/kh_a', '/etc/kh_b'],
      serverAliveIntervalSec: 0,
      serverAliveCountMax: 5,
      connectTimeoutSec: 7
    });
  });

  it('lets hpclab config values win', () => {
    const text =
      'Host hpc\n  User alice\n  Port 2222\n  IdentityFile ~/.ssh/a\n  UserKnownHostsFile ~/.ssh/kh\n  ProxyJump gw\n';
    const t = resolve(
      { host: 'hpc', user: 'bob', port: 22, identityFile: '~/k%1', knownHostsFile: '/kh', proxyJump: 'none' },
      text
    );
    expect(t).toMatchObject({
      user: 'bob',
      port: 22,
      identityFiles: ['/home/me/k%1'],
      identityFilesAreDefaults: false,
      knownHostsFiles: ['/kh'],
      jumps: []
    });
    expect(hopsOf(resolve({ host: 'hpc', proxyJump: 'other' }, text))).toEqual(['me@other:22']);
  });

  it('keeps the first value obtained and collects every IdentityFile in order', () => {
    const t = resolve(
      'hpc',
      'Host hpc\n  User first\n  IdentityFile ~/a\nHost *\n  User second\n  HostName nope\n  IdentityFile ~/b\nHost hpc\n  User third\n'
    );
    expect(t).toMatchObject({ user: 'first', hostName: 'nope', identityFiles: ['/home/me/a', '/home/me/b'] });
    expect(resolve('x', 'IdentityFile none\n').identityFiles).toEqual([]);
  });

  it('matches Host patterns as OpenSSH does', () => {
    const text = `
Host node?
  User single
Host *.hpc.example.org login-[ab]
  User wild
Host * !bastion
  ServerAliveInterval 30
Host Upper
  User upper
Host *
  User fallback
`;
    expect(resolve('node1', text).user).toBe('single');
    expect(resolve('node', text).user).toBe('fallback'); // `?` is exactly one character
    expect(resolve('node12', text).user).toBe('fallback');
    expect(resolve('gpu.hpc.example.org', text).user).toBe('wild');
    expect(resolve('login-[ab]', text).user).toBe('wild'); // brackets are literal
    expect(resolve('login-a', text).user).toBe('fallback');
    expect(resolve('bastion', text).serverAliveIntervalSec).toBe(15);
    expect(resolve('other', text).serverAliveIntervalSec).toBe(30);
    expect(resolve('upper', text).user).toBe('fallback'); // Host is case-sensitive in ssh
  });

  it('applies Match blocks but never runs Match exec', () => {
    const text =
      'Host hpc\n  HostName login.example.org\nMatch exec "true"\n  User exec\nMatch host login.example.org\n  Port 2200\nMatch all\n  User all\n';
    expect(resolve('hpc', text)).toMatchObject({ user: 'all', port: 2200 });
  });

  it('agrees with `ssh -G` on host, user, port, keepalive and ProxyJump', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hpclab-sshg-'));
    try {
      const text = `
Host node? !node9
  User nodes
  Port 2201
Host hpc alias2
  HostName %h.example.org
  ProxyJump u@gw:2022
Host *.example.org gw
  User org
  ServerAliveInterval 40
Host *
  User fallback
  Port 2022
`;
      writeFileSync(path.join(dir, 'config'), text);
      const localUser = os.userInfo().username;
      for (const alias of ['node1', 'node9', 'node', 'hpc', 'alias2', 'gw', 'x.example.org', 'other']) {
        const out = execFileSync('ssh', ['-G', '-T', '-F', path.join(dir, 'config'), alias], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore']
        });
        const g = Object.fromEntries(
          out.split('\n').map(l => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)])
        );
        const ours = resolveSshTarget({ host: alias }, { sshConfigText: text, homeDir: os.homedir(), localUser });
        expect({
          alias,
          hostName: ours.hostName,
          user: ours.user,
          port: ours.port,
          alive: ours.serverAliveIntervalSec
        }).toEqual({
          alias,
          hostName: g.hostname,
          user: g.user,
          port: Number(g.port),
          alive: g.serveraliveinterval === '0' ? 15 : Number(g.serveraliveinterval)
        });
        expect(ours.jumps.length > 0).toBe(g.proxyjump !== undefined);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ProxyJump', () => {
  const text = `
Host hpc
  HostName login.hpc.example.org
  ProxyJump gw
Host gw
  HostName gateway.example.org
  User gwuser
  Port 2022
  IdentityFile ~/.ssh/gw_key
Host inner
  HostName inner.example.org
  ProxyJump outer
Host outer
  HostName outer.example.org
Host b
  ProxyJump shouldbeignored
Host loop1
  ProxyJump loop2
Host loop2
  ProxyJump loop1
`;

  it('resolves each hop through ~/.ssh/config', () => {
    const t = resolve('hpc', text);
    expect(hopsOf(t)).toEqual(['gwuser@gateway.example.org:2022']);
    expect(t.jumps[0]).toMatchObject({
      alias: 'gw',
      identityFiles: ['/home/me/.ssh/gw_key'],
      identityFilesAreDefaults: false,
      jumps: []
    });
    expect(t).toMatchObject({ hostName: 'login.hpc.example.org', user: 'me', port: 22 });
  });

  it("flattens chains in connection order, a hop's own ProxyJump first", () => {
    expect(hopsOf(resolve({ host: 'x', proxyJump: 'inner' }, text))).toEqual([
      'me@outer.example.org:22',
      'me@inner.example.org:22'
    ]);
    // `a,b`: b is reached through a, so b's own ProxyJump does not apply; a's does.
    expect(hopsOf(resolve({ host: 'x', proxyJump: 'inner,b' }, text))).toEqual([
      'me@outer.example.org:22',
      'me@inner.example.org:22',
      'me@b:22'
    ]);
  });

  it('reads every hop syntax', () => {
    const t = resolve(
      { host: 'x', proxyJump: 'alice@h1:2200, ssh://bob%40corp@h2:2300/,[fe80::1]:2400,carol@[::1],ssh://h5' },
      'Host *\n  User dflt\n'
    );
    expect(hopsOf(t)).toEqual(['alice@h1:2200', 'bob@corp@h2:2300', 'dflt@fe80::1:2400', 'carol@::1:22', 'dflt@h5:22']);
  });

  it('honours ProxyJump none, first value wins', () => {
    const common = 'Host bastion\n  ProxyJump none\nHost *\n  ProxyJump bastion\n';
    expect(hopsOf(resolve('hpc', common))).toEqual(['me@bastion:22']);
    expect(resolve('bastion', common).jumps).toEqual([]);
  });

  it('detects loops and over-long chains', () => {
    configError(() => resolve('loop1', text), /ProxyJump loop: loop1 → loop2 → loop1/);
    configError(() => resolve({ host: 'x', proxyJump: 'h1,h2,h3,h4,h5,h6,h7,h8,h9' }), /longer than 8|at most 8/);
    expect(resolve({ host: 'x', proxyJump: 'h1,h2,h3,h4,h5,h6,h7,h8' }).jumps).toHaveLength(8);
    configError(() => resolve({ host: 'x', proxyJump: 'a,,b' }), /no usable host name/);
    configError(() => resolve({ host: 'x', proxyJump: 'a:99999' }), /not a TCP port/);
  });
});

describe('ProxyCommand', () => {
  it('turns the plain ssh -W form into a jump', () => {
    expect(proxyCommandAsJump('ssh -W %h:%p gw')).toBe('gw');
    expect(proxyCommandAsJump('ssh gw -W %h:%p')).toBe('gw');
    expect(proxyCommandAsJump('exec /usr/bin/ssh -q -l u -p 2022 -W [%h]:%p gw')).toBe('u@gw:2022');
    expect(proxyCommandAsJump('ssh -J a,b -W "%h:%p" c')).toBe('a,b,c');
    const t = resolve('hpc', 'Host hpc\n  ProxyCommand ssh -W %h:%p gw\nHost gw\n  HostName gateway\n');
    expect(hopsOf(t)).toEqual(['me@gateway:22']);
    expect(t.proxyCommand).toBeUndefined();
  });

  it('leaves every other command to be run as written', () => {
    for (const command of [
      'ssh gw nc %h %p',
      'ssh -F /etc/gw.conf -W %h:%p gw',
      'ssh -o StrictHostKeyChecking=yes -W %h:%p gw',
      'ssh -W other:22 gw',
      'ssh -W %h:%p $GATEWAY',
      'ssh -l %r -W %h:%p gw',
      'ssh -W %h:%p gw 2>/dev/null',
      '~/bin/ssh -W %h:%p gw',
      'corkscrew proxy 8080 %h %p'
    ])
      expect([command, proxyCommandAsJump(command)]).toEqual([command, undefined]);
    const t = resolve('hpc', 'Host hpc\n  HostName login\n  ProxyCommand ssh gw exec nc %h %p\n');
    expect(t).toMatchObject({
      jumps: [],
      proxyCommand: { command: 'ssh gw exec nc login 22', written: 'ssh gw exec nc %h %p' }
    });
  });

  it('keeps whichever of ProxyJump and ProxyCommand comes first, as ssh does', () => {
    expect(resolve('hpc', 'Host hpc\n  ProxyCommand nc %h %p\n  ProxyJump gw\n')).toMatchObject({
      jumps: [],
      proxyCommand: { command: 'nc hpc 22' }
    });
    const jumpFirst = resolve('hpc', 'Host hpc\n  ProxyJump gw\n  ProxyCommand nc %h %p\n');
    expect([hopsOf(jumpFirst), jumpFirst.proxyCommand]).toEqual([['me@gw:22'], undefined]);
    // `ProxyCommand none` hides a later ProxyJump; `ProxyJump none` hides only later ProxyJumps.
    const none = resolve('hpc', 'Host hpc\n  ProxyCommand none\nHost *\n  ProxyJump gw\n');
    expect([none.jumps, none.proxyCommand]).toEqual([[], undefined]);
    expect(
      resolve('hpc', 'Host hpc\n  ProxyJump none\nHost *\n  ProxyCommand=nc %h %p\n  ProxyJump gw\n').proxyCommand
        ?.command
    ).toBe('nc hpc 22');
    // hpclab's own proxyJump wins, as -J does on ssh's command line.
    expect(hopsOf(resolve({ host: 'hpc', proxyJump: 'other' }, 'Host hpc\n  ProxyCommand nc %h %p\n'))).toEqual([
      'me@other:22'
    ]);
  });

  it('agrees with `ssh -G` on which of the two applies', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hpclab-sshg-'));
    try {
      const text = `
Host a
  ProxyCommand nc %h %p
  ProxyJump gw
Host b
  ProxyJump gw
  ProxyCommand nc %h %p
Host c
  ProxyCommand none
Host d
  ProxyJump none
Host *
  ProxyCommand sh -c  "exec nc %h %p"   # kept verbatim
  ProxyJump other
`;
      writeFileSync(path.join(dir, 'config'), text);
      for (const alias of ['a', 'b', 'c', 'd', 'e']) {
        const out = execFileSync('ssh', ['-G', '-T', '-F', path.join(dir, 'config'), alias], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore']
        });
        const g = Object.fromEntries(
          out.split('\n').map(l => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)])
        );
        const ours = resolveSshTarget({ host: alias }, { sshConfigText: text, homeDir: os.homedir(), localUser: 'me' });
        expect({ alias, command: ours.proxyCommand?.written, jump: ours.jumps.length > 0 }).toEqual({
          alias,
          command: g.proxycommand,
          jump: g.proxyjump !== undefined
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad values', () => {
  it('explains what is wrong', () => {
    configError(() => resolve('h', 'Host h\n  Port ssh\n'), /Port for h is "ssh"/);
    configError(() => resolve('h', 'Host h\n  IdentityFile ~/.ssh/%l\n'), /%l is not supported/);
    configError(() => resolve('h', 'Host h\n  IdentitiesOnly maybe\n'), /yes or no/);
    configError(() => resolve('h', 'Host h\n  IdentityFile ~bob/key\n'), /~user/);
    configError(() => resolve('h', 'Host h\n  User "unterminated\n'), /cannot parse/);
    configError(() => resolve(' '), /not a host name/);
  });
});

describe('readSshConfig', () => {
  let home: string;
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(home, rel)), { recursive: true });
    writeFileSync(path.join(home, rel), text);
  };
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'hpclab-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('returns undefined without ~/.ssh/config', async () => {
    expect(await readSshConfig(home)).toBeUndefined();
  });

  it('inlines Includes with globs, relative to ~/.ssh, keeping sections intact', async () => {
    write(
      '.ssh/config',
      `Include config.d/* ~/.ssh/missing "${home}/abs.conf"
ServerAliveInterval 30

Host special
  Include special.conf
  Port 2200

Host main
  HostName main.example.org
`
    );
    write('.ssh/config.d/10-cluster', 'Host cluster\n  HostName cluster.example.org\n  User alice\n');
    write('.ssh/config.d/20-other', 'Host other\n  HostName other.example.org\n');
    write('.ssh/config.d/.hidden', 'Host cluster\n  User hidden\n');
    write('abs.conf', 'Host abs\n  User absuser\n');
    write('.ssh/special.conf', 'User specialuser\nInclude nested.conf\nConnectTimeout 9\n');
    write('.ssh/nested.conf', 'IdentitiesOnly yes\n');
    const text = await readSshConfig(home);
    const r = (h: string) => resolveSshTarget({ host: h }, { sshConfigText: text, homeDir: home, localUser: 'me' });
    expect(r('cluster')).toMatchObject({ hostName: 'cluster.example.org', user: 'alice', serverAliveIntervalSec: 30 });
    expect(r('other')).toMatchObject({ hostName: 'other.example.org', user: 'me', serverAliveIntervalSec: 30 });
    expect(r('abs').user).toBe('absuser');
    expect(r('main')).toMatchObject({ hostName: 'main.example.org', serverAliveIntervalSec: 30, user: 'me', port: 22 });
    expect(r('special')).toMatchObject({ user: 'specialuser', port: 2200, connectTimeoutSec: 9, identitiesOnly: true });
    expect(r('main').identitiesOnly).toBe(false);
  });

  it('stops an Include loop with a config error', async () => {
    write('.ssh/config', 'Include config\n');
    await expect(readSshConfig(home)).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/nested more than/)
    });
  });
});
