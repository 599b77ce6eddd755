import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClusterRegistry } from '../../server/app';
import type { HpclabConfig } from '../../server/config/schema';
import { SshTransport } from '../../server/transport/ssh/ssh-transport';
import { registry, testbedConfig } from '../support/clusters';
import { dropSshConnections, testbed, waitFor } from '../support/testbed';

/** The ssh transport against the testbed's real sshd (MaxSessions 10, as on real login nodes). */
describe('ssh transport', () => {
  const env = testbed();
  let home: string;
  const open: ClusterRegistry[] = [];

  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-ssh-home-'));
  });
  afterAll(async () => {
    await Promise.all(open.map(r => r.close()));
    await fs.rm(home, { recursive: true, force: true });
  });

  /** The testbed cluster with its ssh entry replaced by `ssh`. */
  async function clusterWith(
    ssh: Record<string, unknown>,
    options: { homeDir?: string; env?: NodeJS.ProcessEnv } = {}
  ) {
    const config = await testbedConfig();
    const patched = { ...config, clusters: { ...config.clusters, testbed: { ssh } } } as unknown as HpclabConfig;
    const r = await registry(patched, options);
    open.push(r);
    return r.get('testbed');
  }

  const baseSsh = () => ({
    host: env.ssh.host,
    port: env.ssh.port,
    user: env.user,
    identityFile: env.identityFile,
    knownHostsFile: env.knownHostsFile
  });

  it('shares one connection and caps channels below MaxSessions, queueing the rest', async () => {
    const { transport } = await clusterWith({ ...baseSsh(), maxChannels: 8 });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => transport.exec(['sh', '-c', 'sleep 0.2; echo "$1"', 'sh', String(i)]))
    );
    expect(results.map(r => r.stdout.trim())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect((transport as SshTransport).connections).toBe(1);
  });

  it('without the cap, sshd refuses channels past MaxSessions (why the cap exists)', async () => {
    const { transport } = await clusterWith({ ...baseSsh(), maxChannels: 30 });
    const settled = await Promise.allSettled(Array.from({ length: 30 }, () => transport.exec(['sleep', '3'])));
    expect(settled.filter(s => s.status === 'rejected').length).toBeGreaterThan(0);
  });

  it('reconnects after the connection is dropped (its sshd child killed) and the next call succeeds', async () => {
    const { transport } = await clusterWith(baseSsh());
    expect((await transport.exec(['echo', 'before'])).stdout).toBe('before\n');
    expect(dropSshConnections(env.pidFiles.sshdLogin)).toBeGreaterThan(0);
    await waitFor('the drop to be noticed', () => (transport as SshTransport).connectionState === 'disconnected');
    expect((await transport.exec(['echo', 'after'])).stdout).toBe('after\n');
    expect((transport as SshTransport).connections).toBe(2);
  });

  it('reaches the login node through a two-hop ProxyJump chain from ~/.ssh/config', async () => {
    const sshDir = path.join(home, '.ssh');
    await fs.mkdir(sshDir, { recursive: true, mode: 0o700 });
    const common = `  User ${env.user}\n  IdentityFile ${env.identityFile}\n  UserKnownHostsFile ${env.knownHostsFile}\n`;
    await fs.writeFile(
      path.join(sshDir, 'config'),
      `Host tb-jump1\n  HostName 127.0.0.1\n  Port ${env.jumps[0].port}\n${common}` +
        `Host tb-jump2\n  HostName 127.0.0.1\n  Port ${env.jumps[1].port}\n  ProxyJump tb-jump1\n${common}` +
        `Host tb-login\n  HostName ${env.ssh.host}\n  Port ${env.ssh.port}\n  ProxyJump tb-jump2\n${common}`
    );
    const accepted = (name: string) =>
      (readFileSync(path.join(env.dir, 'log', `sshd-${name}.log`), 'utf8').match(/Accepted publickey/g) ?? []).length;
    const before = [accepted('jump1'), accepted('jump2'), accepted('login')];
    const { transport, scheduler } = await clusterWith({ host: 'tb-login' }, { homeDir: home });
    expect((await transport.exec(['whoami'])).stdout.trim()).toBe(env.user);
    expect((await scheduler.partitions()).map(p => p.name).sort()).toEqual(['debug', 'gpu']);
    // Each hop saw exactly one login: the chain is real and the connection is pooled.
    expect([accepted('jump1'), accepted('jump2'), accepted('login')]).toEqual(before.map(n => n + 1));
  });

  it('refuses a changed host key with a message that says what to check', async () => {
    const wrong = path.join(home, 'known_hosts_wrong');
    const otherKey = path.join(home, 'other_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const key = readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const name = env.ssh.port === 22 ? env.ssh.host : `[${env.ssh.host}]:${env.ssh.port}`;
    await fs.writeFile(wrong, `${name} ${key}\n`);
    const { transport } = await clusterWith({ ...baseSsh(), knownHostsFile: wrong });
    const err = await transport.exec(['true']).catch(e => e);
    expect(err).toMatchObject({ kind: 'host-key' });
    expect(err.message).toMatch(/CHANGED/);
    expect(err.message).toContain(wrong);
    expect(err.message).toMatch(/SHA256:/);
  });

  it('refuses an unknown host and says how to add it', async () => {
    const empty = path.join(home, 'known_hosts_empty');
    await fs.writeFile(empty, '');
    const { transport } = await clusterWith({ ...baseSsh(), knownHostsFile: empty });
    const err = await transport.exec(['true']).catch(e => e);
    expect(err).toMatchObject({ kind: 'host-key' });
    expect(err.message).toMatch(/ssh-keyscan/);
  });

  it('accepts hashed known_hosts entries (ssh-keygen -H)', async () => {
    const hashed = path.join(home, 'known_hosts_hashed');
    await fs.copyFile(env.knownHostsFile, hashed);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed]);
    expect(readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/);
    const { transport } = await clusterWith({ ...baseSsh(), knownHostsFile: hashed });
    expect((await transport.exec(['echo', 'hashed'])).stdout).toBe('hashed\n');
  });

  it('logs in with a key held only by ssh-agent', async () => {
    const sock = path.join(home, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor('the agent socket', async () => (await fs.stat(sock).catch(() => undefined))?.isSocket());
      execFileSync('ssh-add', ['-q', env.identityFile], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        stdio: 'ignore'
      });
      const emptyHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-agent-home-'));
      const { identityFile: _unused, ...noKey } = baseSsh();
      const { transport } = await clusterWith(noKey, { homeDir: emptyHome, env: { SSH_AUTH_SOCK: sock } });
      expect((await transport.exec(['echo', 'agent'])).stdout).toBe('agent\n');
    } finally {
      agent.kill();
    }
  });

  it('fails clearly when no login method works', async () => {
    const emptyHome = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-nokey-home-'));
    const { identityFile: _unused, ...noKey } = baseSsh();
    const { transport } = await clusterWith(noKey, { homeDir: emptyHome, env: {} });
    await expect(transport.exec(['true'])).rejects.toMatchObject({ kind: 'auth' });
  });
});
