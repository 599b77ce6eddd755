import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { CompanionProcess } from '../support/companion';
import { cancelAllJobs, onLoginNode, testbed } from '../support/testbed';
import { CANARY, FUZZ_RUNS, controlCharacters, pathTraversal, shellInjection } from './fuzz-support';
import { squeueIds } from './faults';

/** Runs per property against the real companion (about 3 ms a case): as many as in process by default. */
const LIVE_RUNS = Number(process.env.HPCLAB_FUZZ_LIVE_RUNS ?? FUZZ_RUNS);

/** What an env path may be: absolute, one line, no "." or ".." parts. */
const CLEAN_ABSOLUTE = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))\/[^\x00-\x1f\x7f]*$/;

/** Hostile strings a shell, Slurm or a path join would take the wrong way. */
const hostile = fc.oneof(
  { arbitrary: shellInjection, weight: 3 },
  { arbitrary: controlCharacters, weight: 2 },
  { arbitrary: pathTraversal, weight: 2 }
);

/**
 * Hostile input against the real companion on the split testbed: every body field, route
 * param and query that reaches the cluster gets shell payloads, control characters and path
 * traversal. Each is refused with a 4xx that names the field, the companion stays up, no job
 * is submitted, and the canary file any injected command would create appears on neither the
 * login nor the compute host. (The in-process fuzz in fuzz-api-*.test.ts covers every route at
 * many more cases; this proves the same against the real transports.)
 */
describe('hostile input against the live companion', () => {
  const env = testbed();
  let companion: CompanionProcess;
  let cases = 0;
  let refused = 0;

  beforeAll(async () => {
    await cancelAllJobs();
    companion = await CompanionProcess.create(env.config);
    await companion.start();
  });
  afterAll(async () => {
    process.stderr.write(
      `fuzz: live companion: ${cases} cases, ${refused} refused with a 4xx naming the field, the rest taken verbatim\n`
    );
    await companion?.stop();
    await cancelAllJobs();
  });

  /** Sends one request; expects a 4xx whose message names `field` (when given). */
  async function expectRefused(
    method: string,
    path: string,
    body: unknown,
    field?: string | RegExp,
    answered?: Response
  ): Promise<void> {
    cases++;
    const res =
      answered ??
      (await companion.fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
      }));
    const text = await res.text();
    expect([method, path, res.status >= 400 && res.status < 500]).toEqual([method, path, true]);
    // A "." or ".." the URL parser folds away leaves another path: its 404 names no field.
    const folded = res.status === 404 && text.includes('no route');
    if (field && !folded)
      expect([path, text]).toEqual([
        path,
        expect.stringMatching(typeof field === 'string' ? new RegExp(field) : field)
      ]);
    refused++;
  }

  const overrideFields = ['partition', 'time', 'mem', 'gres', 'account', 'qos', 'constraint', 'nodelist'];

  it('session previews: every field refused with its name, or taken verbatim as one sbatch word', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...overrideFields, 'profile', 'cluster'), hostile, async (field, value) => {
        const body = ['profile', 'cluster'].includes(field)
          ? { kind: 'lab', profile: 'cpu', [field]: value }
          : { kind: 'lab', profile: 'cpu', overrides: { [field]: value } };
        const res = await companion.fetch('/hpclab/api/sessions/preview', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body)
        });
        if (res.status === 200) {
          // Valid in Slurm's own grammar (a constraint like "a&0" is): one argv word, never a shell line.
          cases++;
          const { argv } = (await res.json()) as { argv: string[] };
          expect(argv.filter(word => word.endsWith(`=${value}`))).toHaveLength(1);
          return;
        }
        await expectRefused('POST', '/hpclab/api/sessions/preview', body, field, res);
      }),
      { numRuns: LIVE_RUNS }
    );
  }, 300_000);

  it('session requests: values no field takes (spaces, control characters) are refused before sbatch', async () => {
    const unusable = hostile.filter(v => /[\s\x00-\x1f\x7f]/.test(v));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...overrideFields, 'profile', 'cluster'), unusable, async (field, value) => {
        const body = ['profile', 'cluster'].includes(field)
          ? { kind: 'lab', profile: 'cpu', [field]: value }
          : { kind: 'lab', profile: 'cpu', overrides: { [field]: value } };
        await expectRefused('POST', '/hpclab/api/sessions', body, field);
      }),
      { numRuns: LIVE_RUNS }
    );
  }, 300_000);

  it('route params and queries: session ids, log sizes, clusters, job ids', async () => {
    const enc = encodeURIComponent;
    await fc.assert(
      fc.asyncProperty(hostile, fc.nat(4), async (value, which) => {
        if (which === 0) await expectRefused('GET', `/hpclab/api/sessions/${enc(value)}/log`, undefined);
        if (which === 1)
          await expectRefused('GET', `/hpclab/api/sessions/abc123def456/log?tail=${enc(value)}`, undefined);
        if (which === 2)
          await expectRefused('POST', `/hpclab/api/clusters/testbed/jobs/${enc(value)}/cancel`, undefined, /job id/);
        if (which === 3) await expectRefused('GET', `/hpclab/api/clusters/${enc(value)}/envs`, undefined);
        if (which === 4) await expectRefused('DELETE', `/hpclab/api/kernelspecs/${enc(value)}`, undefined);
      }),
      { numRuns: LIVE_RUNS }
    );
  }, 300_000);

  it('kernel requests and kernelspecs: env paths, names, kernel ids', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostile,
        fc.constantFrom('venv', 'conda', 'python', 'name', 'kernelId'),
        async (value, field) => {
          // (The key is an opaque secret: any printable ASCII is a valid one, so it is not fuzzed here.)
          if (field === 'kernelId') {
            const body = { kernelId: value, profile: 'cpu', key: 'k'.repeat(32), signatureScheme: 'hmac-sha256' };
            return expectRefused('POST', '/hpclab/api/kernels', body, field);
          }
          // (A display name is free text, stored verbatim: it is fuzzed in process, not here.)
          const body =
            field === 'name' ? { profile: 'cpu', [field]: value } : { profile: 'cpu', env: { [field]: value } };
          // An env path is the user's own choice on their own account: a clean absolute path (even
          // "/etc/shadow" or "/a/$(x)") is taken verbatim and only ever passed as one quoted word.
          if (field !== 'name' && CLEAN_ABSOLUTE.test(value)) {
            cases++;
            const res = await companion.fetch('/hpclab/api/kernelspecs', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(body)
            });
            expect([value, res.status === 201 || res.status === 200]).toEqual([value, true]); // 200: the same spec again
            return;
          }
          await expectRefused('POST', '/hpclab/api/kernelspecs', body, field);
        }
      ),
      { numRuns: LIVE_RUNS }
    );
  }, 300_000);

  it('the companion is still up, nothing was submitted, and no canary on either host', async () => {
    expect((await companion.fetch('/hpclab/api/sessions')).status).toBe(200);
    expect(companion.child?.exitCode).toBeNull();
    expect(squeueIds()).toEqual([]);
    expect(existsSync(CANARY)).toBe(false);
    // The login host (its own network namespace; the compute host shares the file system).
    expect(onLoginNode(['sh', '-c', 'test -e "$1" && echo found || echo absent', 'sh', CANARY]).trim()).toBe('absent');
    expect(onLoginNode(['sh', '-c', 'ls /tmp | grep -c hpclab-fuzz-canary || true']).trim()).toBe('0');
  });
});
