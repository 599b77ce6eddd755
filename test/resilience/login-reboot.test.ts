import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cancelAllJobs, testbed, waitFor } from '../support/testbed';
import { daemon, record, startNotebook } from './faults';

/**
 * Every process of the testbed user on the login host, read from the login network namespace
 * (the split testbed's login host): what a reboot of that host ends. slurmctld (another user)
 * and everything on the compute host are left alone, as on a real cluster.
 */
function userProcessesOnLogin(user: string): number[] {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const pids = execFileSync('ip', ['netns', 'pids', 'login'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  return pids.filter(pid => {
    try {
      return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] === String(uid);
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** How long the rebooted login node stays away: longer than the old 90 s the allocation held. */
const REBOOT_MS = Number(process.env.HPCLAB_REBOOT_SEC ?? 120) * 1000;

/**
 * The login node rebooted under a remote kernel: its sshd and every process of the user on it
 * (the kernel step's srun and the process that would record its exit code among them) are gone
 * for a while. The kernel runs in its allocation on the compute node, so it comes back with its
 * variables once the login node is up; and when it later dies, the launcher still learns of it,
 * though nothing is left to write its exit code.
 */
describe('the login node rebooted', () => {
  const env = testbed();
  beforeAll(() => daemon('start', 'sshd'));
  afterAll(() => cancelAllJobs());

  /** sshd and every process of the user on the login host killed, back after `ms`; how many died. */
  async function reboot(ms: number): Promise<number> {
    daemon('stop', 'sshd');
    const victims = userProcessesOnLogin(env.user);
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitFor(
      'no process of the user left on the login host',
      () => userProcessesOnLogin(env.user).length === 0,
      10_000
    );
    await new Promise(r => setTimeout(r, ms));
    daemon('start', 'sshd');
    return victims.length;
  }

  it(
    `a remote kernel mid-cell keeps its variables through ${REBOOT_MS / 1000} s away`,
    async () => {
      const nb = await startNotebook();
      try {
        await nb.until('the cell to be running', () => nb.steps.executing, 120_000);
        const killed = await reboot(REBOOT_MS);
        const up = Date.now();
        await nb.go();
        await nb.until('the kernel back', () => nb.steps.after, 150_000);
        expect(nb.steps.after.out).toBe('42 43\n');
        record(
          `login node rebooted (${REBOOT_MS / 1000} s away)`,
          `remote kernel back with its variables (${killed} processes of the user on the login node had been killed)`,
          Date.now() - up
        );
      } finally {
        daemon('start', 'sshd');
        await nb.stop();
      }
    },
    REBOOT_MS + 300_000
  );

  it('a kernel that dies after the reboot is still seen to die: the launcher exits non-zero and says why', async () => {
    const nb = await startNotebook('cpu', 'die-on-go');
    try {
      await nb.until('the kernel to be ready', () => nb.steps.waiting, 120_000);
      await reboot(2000);
      await nb.go();
      const t0 = Date.now();
      const died = await nb.until('the launcher to exit', () => nb.steps.died, 170_000);
      expect(died.code).not.toBe(0);
      expect(nb.stderr()).toMatch(
        /the kernel on the node ended \(the kernel step ended without leaving its exit code\)/
      );
      process.stderr.write(
        `resilience: a kernel dead after the login node's reboot was seen ${((Date.now() - t0) / 1000).toFixed(1)} s after it died\n`
      );
    } finally {
      daemon('start', 'sshd');
      await nb.stop();
    }
  }, 400_000);
});
