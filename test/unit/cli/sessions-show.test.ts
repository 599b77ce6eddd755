import { sessionDetail } from '../../../server/cli/commands/sessions';
import type { SessionInfo } from '../../../server/sessions/types';

const running: SessionInfo = {
  id: 'abc123def456',
  kind: 'lab',
  cluster: 'testbed',
  profile: 'cpu',
  state: 'running',
  jobId: '77',
  pending: null,
  node: 'c1',
  createdAt: '2026-12-06T01:00:00.000Z',
  startedAt: '2026-12-06T01:00:02.000Z',
  endsAt: null,
  endedAt: null,
  endReason: null,
  message: null,
  baseUrl: '/hpclab/node/abc123def456/',
  access: {
    kind: 'unix-socket',
    summary:
      'unix socket /tmp/hpclab.Ab3dE5gH7j/lab.sock (mode 0600) in a directory of mode 0700 on c1, reached through a relay step of job 77; no TCP port on the node',
    relay: 'up'
  }
};

describe('hpclab sessions show', () => {
  it('prints every known field, and how the node is reached, for an audit', () => {
    expect(sessionDetail(running).split('\n')).toEqual([
      'Session      abc123def456',
      'Kind         JupyterLab on a node',
      'Profile      cpu on testbed',
      'State        running',
      'Job          77',
      'Node         c1',
      'Created      2026-12-06T01:00:00.000Z',
      'Started      2026-12-06T01:00:02.000Z',
      `Reached via  ${running.access!.summary}`,
      'Relay        up'
    ]);
  });

  it('says plainly when a session is on a TCP port others can reach, and leaves out what is unknown', () => {
    const text = sessionDetail({
      ...running,
      kind: 'kernel',
      access: {
        kind: 'tcp',
        summary: 'TCP ports of its kernels on 10.0.0.5: any cluster user can connect to it',
        relay: null
      }
    });
    expect(text).toContain('Kind         kernel allocation');
    expect(text).toContain('Reached via  TCP ports of its kernels on 10.0.0.5: any cluster user can connect to it');
    expect(text).not.toContain('Relay');
    expect(
      sessionDetail({
        ...running,
        state: 'pending',
        access: null,
        pending: { reason: 'Resources', position: 2, estimatedStart: null }
      })
    ).toContain('Pending  Resources, #2');
  });
});
