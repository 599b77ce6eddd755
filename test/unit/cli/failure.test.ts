import { ConfigError } from '../../../server/config/load';
import { describeFailure } from '../../../server/cli/failure';
import { UsageError } from '../../../server/cli/context';
import { SchedulerError } from '../../../server/scheduler/errors';
import { TransportError } from '../../../server/transport/errors';

describe('describeFailure: what failed, then what to do', () => {
  it('keeps a usage message as it is (it already names the flag and the fix)', () => {
    expect(describeFailure(new UsageError('--port: expected a port'))).toBe('--port: expected a port');
  });

  it('an unreachable cluster: one line, the cluster, and what to check', () => {
    const text = describeFailure(
      new TransportError('unreachable', 'cannot connect to x@127.0.0.1:1: ECONNREFUSED', 'gone')
    );
    expect(text.split('\n')).toHaveLength(1);
    expect(text).toMatch(/^cluster gone: cannot connect to x@127\.0\.0\.1:1: ECONNREFUSED; check the network/);
    expect(text).toContain('plain ssh');
  });

  it('a refused login says how to get a key in', () => {
    expect(describeFailure(new TransportError('auth', 'login refused', 'c'))).toMatch(/ssh-add|identityFile/);
  });

  it('a host key message is left as it is: it says what to check itself', () => {
    expect(describeFailure(new TransportError('host-key', 'The SSH host key of h has CHANGED', 'c'))).toBe(
      'cluster c: The SSH host key of h has CHANGED'
    );
  });

  it.each([
    ['unavailable', /try again in a minute/],
    ['not-found', /hpclab jobs lists your jobs/],
    ['invalid-request', /hpclab status/]
  ] as const)('Slurm %s names a next step', (kind, step) => {
    const text = describeFailure(new SchedulerError(kind, 'said no'));
    expect(text).toMatch(/^Slurm: said no; /);
    expect(text).toMatch(step);
  });

  it('an invalid config file says to fix it there', () => {
    const err = new ConfigError(
      'invalid',
      'cfg.json: clusters.x.ssh.port: too big',
      [{ path: 'clusters.x.ssh.port', message: 'too big' }],
      'cfg.json'
    );
    expect(describeFailure(err)).toBe(
      'cfg.json: clusters.x.ssh.port: too big\nFix this in cfg.json (see "Configuration" in the README), then run the command again.'
    );
  });

  it('other errors print their message', () => {
    expect(describeFailure(new Error('boom'))).toBe('boom');
    expect(describeFailure('plain')).toBe('plain');
  });
});
