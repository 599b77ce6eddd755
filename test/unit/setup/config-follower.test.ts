import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../../server/config/load';
import { ConfigFollower } from '../../../server/setup/config-follower';

/* The companion follows its config file: what `hpclab init` or an editor writes applies to the next call. */

const START = {
  clusters: { here: { local: true } },
  profiles: { cpu: { cluster: 'here', env: { python: 'python3' } } }
};
const MORE = {
  ...START,
  clusters: { ...START.clusters, there: { ssh: { host: 'login.example.org' } } },
  profiles: { ...START.profiles, gpu: { cluster: 'there', gres: 'gpu:1' } }
};

let dir: string;
let file: string;
let live: ReturnType<typeof parseConfig>;
let reports: string[];
let follower: ConfigFollower;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-follow-'));
  file = path.join(dir, 'config.json');
  await fs.writeFile(file, JSON.stringify(START));
  live = parseConfig(JSON.stringify(START), file);
  reports = [];
  follower = new ConfigFollower({ file, config: live, report: m => reports.push(m) });
  await follower.start();
});
afterEach(async () => {
  follower.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** Another writer, as `hpclab init` writes: a temp file renamed over the config. */
async function replaceFile(text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp`, text);
  await fs.rename(`${file}.tmp`, file);
}

test('an unchanged file changes nothing, and a rewritten one applies in place', async () => {
  const same = live;
  await follower.refresh();
  expect(Object.keys(live.clusters)).toEqual(['here']);
  await replaceFile(JSON.stringify(MORE));
  await follower.refresh();
  expect(live).toBe(same); // every service holds this one object
  expect(Object.keys(live.clusters).sort()).toEqual(['here', 'there']);
  expect(live.profiles?.gpu).toMatchObject({ cluster: 'there', gres: 'gpu:1' });
  expect(reports).toEqual([]);
});

test('a file that does not load keeps the config in use, and says why once', async () => {
  await replaceFile('{"clusters": {"here": {"local": true}}, "profiles": {"cpu": {"cluster": "nowhere"}}}');
  await follower.refresh();
  await follower.refresh();
  expect(Object.keys(live.profiles ?? {})).toEqual(['cpu']);
  expect(live.profiles?.cpu.cluster).toBe('here');
  expect(reports).toHaveLength(1);
  expect(reports[0]).toMatch(/does not load; keeping the config in use/);
  expect(reports[0]).toMatch(/profiles\.cpu\.cluster/);
  // Fixed: it applies.
  await replaceFile(JSON.stringify(MORE));
  await follower.refresh();
  expect(Object.keys(live.profiles ?? {}).sort()).toEqual(['cpu', 'gpu']);
});

test('a removed file keeps the config in use', async () => {
  await fs.rm(file);
  await follower.refresh();
  expect(Object.keys(live.clusters)).toEqual(['here']);
  expect(reports).toEqual([expect.stringMatching(/was removed; keeping the config in use/)]);
});

test('concurrent calls share one read', async () => {
  await replaceFile(JSON.stringify(MORE));
  const calls = [follower.refresh(), follower.refresh(), follower.refresh()];
  expect(calls[1]).toBe(calls[0]);
  await Promise.all(calls);
  expect(Object.keys(live.clusters).sort()).toEqual(['here', 'there']);
});

test('watching applies a change nobody asked for', async () => {
  follower.watch(20);
  await replaceFile(JSON.stringify(MORE));
  const deadline = Date.now() + 5000;
  while (!live.clusters.there && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
  expect(live.clusters.there).toBeDefined();
});
