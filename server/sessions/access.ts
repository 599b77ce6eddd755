import type { RelayStatus } from './node-channels';
import { isFinal } from './reconcile';
import type { SessionRecord } from './store';
import type { SessionAccess } from './types';

/** Words for `sessions show` and the sidebar: how the node is reached, and who else could. */
export function describeAccess(record: SessionRecord, relay: RelayStatus | null): SessionAccess | null {
  const { target, info } = record;
  if (!target || isFinal(info.state)) return null;
  if ('socketDir' in target) {
    const what =
      info.kind === 'lab'
        ? `unix socket ${target.socketDir}/${target.socket} (mode 0600)`
        : `ZMQ ipc sockets of its kernels in ${target.socketDir}`;
    const lane =
      !relay || relay.bulk === 'untried'
        ? ''
        : relay.bulk === 'on'
          ? "; streams: the relay dials out to the companion's hub on the login node"
          : `; streams go through srun's stdio (the node could not reach the login node's hub: ${relay.bulkError})`;
    return {
      kind: 'unix-socket',
      summary: `${what} in a directory of mode 0700 on ${info.node ?? 'the node'}, reached through a relay step of job ${info.jobId}; no TCP port on the node${lane}`,
      relay: relay?.state ?? null
    };
  }
  if ('host' in target) {
    const where =
      info.kind === 'lab' ? `TCP port ${target.port} on ${target.host}` : `TCP ports of its kernels on ${target.host}`;
    return {
      kind: 'tcp',
      summary: `${where}: any cluster user can connect to it (${info.kind === 'lab' ? 'the token guards the API' : 'the key guards execution, not output'})`,
      relay: null
    };
  }
  return null;
}
