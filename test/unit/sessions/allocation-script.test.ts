import { ConfigError, parseConfig } from '../../../server/config/load';
import {
  DEFAULT_KERNEL_HOLD_MINUTES,
  parseAllocation,
  renderAllocationScript
} from '../../../server/sessions/allocation-script';

const base = { sessionId: 'k1', sessionDir: '/home/u/.hpclab/sessions/k1' };
const profile = (extra: object) =>
  JSON.stringify({ clusters: { here: { local: true } }, profiles: { cpu: { cluster: 'here', ...extra } } });

describe('the kernel allocation holds itself while the companion cannot reach it', () => {
  it('for 10 minutes by default: past a laptop nap or a login node reboot, not hours', () => {
    expect(DEFAULT_KERNEL_HOLD_MINUTES).toBe(10);
    const script = renderAllocationScript(base);
    expect(script).toContain('-gt 600 ]; then');
    expect(script).toContain('no word from the companion for 600 s: releasing the allocation');
  });

  it("for the profile's kernelHoldMinutes when set", () => {
    const config = parseConfig(profile({ kernelHoldMinutes: 2 }), 'c.json');
    expect(config.profiles!.cpu.kernelHoldMinutes).toBe(2);
    expect(renderAllocationScript({ ...base, holdMinutes: 2 })).toContain('-gt 120 ]; then');
  });

  it.each([0, 1441, 1.5, '10'])('refuses kernelHoldMinutes %p, naming the field and the range', value => {
    expect(() => parseConfig(profile({ kernelHoldMinutes: value }), 'c.json')).toThrow(ConfigError);
    expect(() => parseConfig(profile({ kernelHoldMinutes: value }), 'c.json')).toThrow(
      /profiles\.cpu\.kernelHoldMinutes: expected a number of minutes from 1 to 1440/
    );
  });
});

describe('where kernels of the allocation bind', () => {
  it('by default, a private 0700 directory in /tmp (removed at the end) and a python for the relay', () => {
    const script = renderAllocationScript(base);
    expect(script).toContain('hpclab_sock_dir=$(mktemp -d /tmp/hpclab.XXXXXXXXXX)');
    expect(script).toContain('trap \'rm -rf "$hpclab_sock_dir"\' EXIT');
    expect(script).toContain('"version":2');
    expect(script).not.toMatch(/NodeAddr|hpclab_addr/);
  });

  it('with nodeChannels "tcp", the node\'s address, as before', () => {
    const script = renderAllocationScript({ ...base, nodeChannels: 'tcp' });
    expect(script).toContain('"version":1');
    expect(script).toContain('hpclab_addr');
    expect(script).not.toContain('mktemp');
  });

  it('reads both files, and refuses a socket directory that is not a plain absolute path', () => {
    const v2 = {
      version: 2,
      sessionId: 'k1',
      socketDir: '/tmp/hpclab.Ab3dE5gH7j',
      relayPython: '/usr/bin/python3',
      node: 'c1',
      jobId: '7'
    };
    expect(parseAllocation(JSON.stringify(v2), { sessionId: 'k1' })).toEqual(v2);
    const v1 = { version: 1, sessionId: 'k1', host: '10.0.0.5', node: 'c1', jobId: '7' };
    expect(parseAllocation(JSON.stringify(v1), { sessionId: 'k1' })).toEqual(v1);
    expect(() => parseAllocation(JSON.stringify({ ...v2, socketDir: '/tmp/x/../y' }), { sessionId: 'k1' })).toThrow(
      /socketDir: expected an absolute path/
    );
    expect(() => parseAllocation(JSON.stringify({ ...v2, relayPython: 'python3' }), { sessionId: 'k1' })).toThrow(
      /relayPython: expected an absolute path/
    );
  });
});
