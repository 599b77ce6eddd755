import type { SshConfig } from '../../config/schema';
import type { HopSpec } from './connect';
import { resolveSshTarget, type ResolveOptions, type ResolvedSshTarget } from './ssh-config';

/**
 * The hops to the login node, jump hosts first, from hpclab's cluster entry and ~/.ssh/config
 * (the cluster entry wins where both say something).
 */
export function hopsFor(ssh: SshConfig, options: ResolveOptions): HopSpec[] {
  const target = resolveSshTarget(
    {
      host: ssh.host,
      port: ssh.port,
      user: ssh.user,
      identityFile: ssh.identityFile,
      knownHostsFile: ssh.knownHostsFile,
      proxyJump: ssh.proxyJump
    },
    options
  );
  const keepaliveSec = ssh.keepaliveSec ?? target.serverAliveIntervalSec;
  return [...target.jumps, target].map(hop => toHop(hop, keepaliveSec));
}

function toHop(t: ResolvedSshTarget, keepaliveSec: number): HopSpec {
  return {
    hostName: t.hostName,
    port: t.port,
    username: t.user,
    identityFiles: t.identityFiles.map(path => ({ path, explicit: !t.identityFilesAreDefaults })),
    identitiesOnly: t.identitiesOnly,
    knownHostsFiles: t.knownHostsFiles,
    keepaliveSec,
    keepaliveCountMax: t.serverAliveCountMax,
    connectTimeoutSec: t.connectTimeoutSec,
    ...(t.proxyCommand ? { proxyCommand: t.proxyCommand } : {})
  };
}
