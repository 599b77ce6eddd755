import { ConfigError, parseConfig } from '../../../server/config/load';
import { DEFAULT_KERNEL_HOLD_MINUTES, renderAllocationScript } from '../../../server/sessions/allocation-script';

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
