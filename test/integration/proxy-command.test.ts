import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClusterRegistry } from '../../server/app';
import type { HpclabConfig } from '../../server/config/schema';
import { SshTransport } from '../../server/transport/ssh/ssh-transport';
import { registry, testbedConfig } from '../support/clusters';
import { allCommandLines, testbed, waitFor } from '../support/testbed';

/**
 * ProxyCommand from ~/.ssh/config, run as OpenSSH runs it, in front of the testbed's login node:
 * the gateway is the testbed's first jump host, reached by a real `ssh` child process. Needs `nc`
 * (Debian's netcat-openbsd) on the testbed, for `exec nc %h %p` on the jump host.
 */
describe('ssh transport through a ProxyCommand', () => {
  const env = testbed();
  let home: string;
  const open: ClusterRegistry[] = [];

  beforeAll(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-proxycmd-home-'));
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  });
  afterAll(async () => {
    await Promise.all(open.map(r => r.close()));
    await fs.rm(home, { recursive: true, force: true });
  });

  /** The testbed cluster with `host` as its ssh host, and `home`'s ~/.ssh/config. */
  async function clusterFor(host: string) {
    const config = await testbedConfig();
    const patched = {
      ...config,
      clusters: { ...config.clusters, testbed: { ssh: { host } } }
    } as unknown as HpclabConfig;
    const r = await registry(patched, { homeDir: home });
    open.push(r);
    return { registry: r, ...r.get('testbed') };
  }

  /** A ~/.ssh/config entry for the login node, reached through `proxyCommand`. */
  async function writeSshConfig(entries: Record<string, string>) {
    const login = [
      `HostName ${env.ssh.host}`,
      `Port ${env.ssh.port}`,
      `User ${env.user}`,
      `IdentityFile ${env.identityFile}`,
      `UserKnownHostsFile ${env.knownHostsFile}`
    ];
    const text = Object.entries(entries)
      .map(
        ([alias, command]) => `Host ${alias}\n${[...login, `ProxyCommand ${command}`].map(l => `  ${l}\n`).join('')}`
      )
      .join('');
    await fs.writeFile(path.join(home, '.ssh', 'config'), text);
  }

  /**
   * The gateway ssh runs as the test's user, with nothing from that user's own ~/.ssh: the
   * testbed's key and known_hosts (its jump hosts are recorded as [127.0.0.1]:port), strict
   * host key checking, and BatchMode so that it fails rather than waits for a prompt.
   */
  const gatewayOptions = (knownHosts: string) =>
    `-i ${env.identityFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} ` +
    '-o StrictHostKeyChecking=yes -o BatchMode=yes';

  const accepted = (name: string) =>
    (readFileSync(path.join(env.dir, 'log', `sshd-${name}.log`), 'utf8').match(/Accepted publickey/g) ?? []).length;

  /** Runs hostname and sinfo through the cluster, checks each hop saw one login, closes, checks the child is gone. */
  async function checkThrough(alias: string, marker: string) {
    const before = [accepted('jump1'), accepted('login')];
    const { registry: r, transport, scheduler } = await clusterFor(alias);
    const hostname = await transport.exec(['hostname']);
    expect(hostname).toMatchObject({ code: 0, stdout: expect.stringMatching(/\S/) });
    const sinfo = await transport.exec(['sinfo', '-h', '-o', '%P']);
    expect(sinfo.code).toBe(0);
    expect(sinfo.stdout).toMatch(/debug/);
    expect((await scheduler.partitions()).map(p => p.name).sort()).toEqual(['debug', 'gpu']);
    expect((transport as SshTransport).connections).toBe(1);
    // The gateway ssh logged in to jump1 once, and our client to the login node once through it.
    expect([accepted('jump1'), accepted('login')]).toEqual(before.map(n => n + 1));
    expect(allCommandLines()).toContain(marker);
    await r.close();
    open.splice(open.indexOf(r), 1);
    await waitFor('the ProxyCommand to end with the transport', () => !allCommandLines().includes(marker), 10_000);
  }

  it('runs `ssh gateway exec nc %h %p`', async () => {
    // A copy of known_hosts under this test's HOME: its path marks the gateway ssh's command line.
    const knownHosts = path.join(home, 'known_hosts_nc');
    await fs.copyFile(env.knownHostsFile, knownHosts);
    const jump1 = env.jumps[0];
    await writeSshConfig({
      'tb-nc': `ssh -F /dev/null ${gatewayOptions(knownHosts)} -p ${jump1.port} ${env.user}@${jump1.host} exec nc %h %p`
    });
    await checkThrough('tb-nc', knownHosts);
  });

  it('runs `ssh -F file -W %h:%p jump1`, which is not turned into a ProxyJump', async () => {
    const jump1 = env.jumps[0];
    const gatewayConfig = path.join(home, 'gateway_ssh_config');
    await fs.writeFile(
      gatewayConfig,
      `Host jump1\n  HostName ${jump1.host}\n  Port ${jump1.port}\n  User ${env.user}\n  IdentityFile ${env.identityFile}\n` +
        `  IdentitiesOnly yes\n  UserKnownHostsFile ${env.knownHostsFile}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`
    );
    await writeSshConfig({ 'tb-w': `ssh -F ${gatewayConfig} -W %h:%p jump1` });
    await checkThrough('tb-w', gatewayConfig);
  });

  it('fails with the ProxyCommand, its exit code and its stderr when it exits before the handshake', async () => {
    await writeSshConfig({ 'tb-no': "sh -c 'echo gateway says no >&2; exit 3'" });
    const { transport } = await clusterFor('tb-no');
    const err = await transport.exec(['true']).catch(e => e);
    expect(err).toMatchObject({ kind: 'unreachable', cluster: 'testbed' });
    expect(err.message).toContain(`ProxyCommand "sh -c 'echo gateway says no >&2; exit 3'"`);
    expect(err.message).toMatch(/exited with code 3 before the SSH handshake: .*gateway says no/);
  });
});
