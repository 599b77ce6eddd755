import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterRegistry } from '../../../server/app';
import { parseConfig } from '../../../server/config/load';
import { SetupService } from '../../../server/setup/setup-service';

/* Profile edits as the sidebar makes them: written to the file, applied to the live config. */

let dir: string;
let file: string;
let service: SetupService;
let live: ReturnType<typeof parseConfig>;

const START = {
  clusters: { here: { local: true } },
  profiles: { cpu: { cluster: 'here', time: '00:10:00', env: { python: 'python3' } } },
  defaults: { cluster: 'here', profile: 'cpu' }
};

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-setup-'));
  file = path.join(dir, 'hpclab', 'config.json');
  await fs.mkdir(path.dirname(file));
  await fs.writeFile(file, JSON.stringify(START));
  live = parseConfig(JSON.stringify(START), file);
  const clusters = new ClusterRegistry(live, { homeDir: dir });
  service = new SetupService({
    configPath: file,
    config: live,
    clusters,
    probeRegistry: c => new ClusterRegistry(c, { homeDir: dir }),
    homeDir: dir
  });
});
afterEach(async () => {
  await service.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const onDisk = async () => JSON.parse(await fs.readFile(file, 'utf8'));

test('info lists the hosts of ~/.ssh/config and whether a config exists', async () => {
  await fs.mkdir(path.join(dir, '.ssh'));
  await fs.writeFile(
    path.join(dir, '.ssh', 'config'),
    'Host login1 login2\n  User me\nHost *\n  ServerAliveInterval 30\n'
  );
  expect(await service.info()).toEqual({ configPath: file, configured: true, hosts: ['login1', 'login2'] });
});

test('a new profile is written 0600 and applies to the running companion', async () => {
  await service.putProfile('gpu', { cluster: 'here', gres: 'gpu:1', time: '01:00:00' });
  expect((await onDisk()).profiles.gpu).toEqual({ cluster: 'here', gres: 'gpu:1', time: '01:00:00' });
  expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  expect(live.profiles?.gpu?.gres).toBe('gpu:1');
  expect((await onDisk()).profiles.cpu).toEqual(START.profiles.cpu); // the rest as it was
});

test('a bad value names the field and changes nothing', async () => {
  const err = await service.putProfile('cpu', { cluster: 'here', time: 'soon' }).catch(e => e);
  expect(err).toMatchObject({ kind: 'invalid', fields: [{ path: 'profile.time', message: expect.any(String) }] });
  const unknownCluster = await service.putProfile('cpu', { cluster: 'elsewhere' }).catch(e => e);
  expect(unknownCluster.message).toMatch(/elsewhere/);
  expect(await onDisk()).toEqual(START);
  expect(live.profiles?.cpu?.time).toBe('00:10:00');
});

test('removing the default profile also removes it as the default, so the file still loads', async () => {
  await service.removeProfile('cpu');
  const after = await onDisk();
  expect(after.profiles).toEqual({});
  expect(after.defaults).toEqual({ cluster: 'here' });
  await expect(service.removeProfile('cpu')).rejects.toMatchObject({ kind: 'not-found' });
});

test('two edits at once both land (writes are serialized)', async () => {
  await Promise.all([service.putProfile('a', { cluster: 'here' }), service.putProfile('b', { cluster: 'here' })]);
  expect(Object.keys((await onDisk()).profiles).sort()).toEqual(['a', 'b', 'cpu']);
});

test('a broken file is reported and never overwritten', async () => {
  await fs.writeFile(file, '{"clusters": ');
  await expect(service.putProfile('a', { cluster: 'here' })).rejects.toMatchObject({
    kind: 'invalid',
    name: 'ConfigError'
  });
  expect(await fs.readFile(file, 'utf8')).toBe('{"clusters": ');
});

test('discover refuses a name clash before connecting', async () => {
  await expect(service.discover('other-host', 'here')).rejects.toMatchObject({ kind: 'conflict' });
});
