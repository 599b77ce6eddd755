import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapSyncDir, resolveRemoteHome } from '../../../server/sync/open-trees';
import { runCli } from '../cli/capture';

/*
 * `hpclab sync` end to end on a local cluster (the companion on the login node: the cluster's
 * side is this machine's disk), and its answers to bad input: an unmapped DIR names DIR, the
 * mapped folders and the pathMap entry to add, and copies nothing.
 */

let work: string;
let config: string;
let laptop: string;
let cluster: string;

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-sync-cli-'));
  laptop = path.join(work, 'laptop');
  cluster = path.join(work, 'cluster');
  config = path.join(work, 'config.json');
  await fs.mkdir(path.join(laptop, 'proj', 'sub'), { recursive: true });
  await fs.writeFile(path.join(laptop, 'proj', 'a.txt'), 'a');
  await fs.writeFile(path.join(laptop, 'proj', 'sub', 'b.txt'), 'bb');
  await fs.writeFile(
    config,
    JSON.stringify({ clusters: { here: { local: true, pathMap: [{ local: laptop, remote: cluster }] } } })
  );
});
afterEach(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('hpclab sync on a local cluster', () => {
  it('pushes, pushes again copying nothing, and pulls into a fresh folder', async () => {
    const dir = path.join(laptop, 'proj');
    const push = await runCli(['sync', 'push', dir, '--config', config, '--json']);
    expect(push.code).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ direction: 'push', cluster: 'here', copied: 2, bytes: 3 });
    expect(await fs.readFile(path.join(cluster, 'proj', 'sub', 'b.txt'), 'utf8')).toBe('bb');

    const again = await runCli(['sync', 'push', dir, '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Pushed .*proj → here:.*proj: 0 copied \(0 B\), 2 unchanged in [\d.]+ s\n$/);

    await fs.rm(dir, { recursive: true });
    const pull = await runCli(['sync', 'pull', dir, '--config', config, '--json']);
    expect(pull.code).toBe(0);
    expect(JSON.parse(pull.stdout)).toMatchObject({ direction: 'pull', copied: 2, dirsMade: 1 });
    expect(await fs.readFile(path.join(dir, 'sub', 'b.txt'), 'utf8')).toBe('bb');
  });

  it('refuses a DIR outside every mapped folder, naming DIR, pathMap and the entry to add; copies nothing', async () => {
    const elsewhere = path.join(work, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.writeFile(path.join(elsewhere, 'x.txt'), 'x');
    const r = await runCli(['sync', 'push', elsewhere, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`DIR ${elsewhere} is not under a folder mapped to cluster here`);
    expect(r.stderr).toContain(`mapped folders: ${laptop} → ${cluster}`);
    expect(r.stderr).toContain('clusters.here.pathMap');
    expect(r.stderr).toContain('{"local":');
    expect(r.stdout).toBe('');
    await expect(fs.stat(cluster)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    [['sync'], /say which way/],
    [['sync', 'psuh'], /unknown sync direction "psuh" \(did you mean "push"\?\)/],
    [['sync', 'push', 'a', 'b'], /unexpected "b": give one DIR/],
    [['sync', 'push', '--dryrun'], /unknown option '--dryrun'; did you mean --dry-run\?/]
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const r = await runCli([...argv, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses to push a DIR that does not exist, under a mapped folder', async () => {
    const r = await runCli(['sync', 'push', path.join(laptop, 'missing'), '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing does not exist or is not a folder/);
  });
});

describe('mapping DIR', () => {
  const map = [{ local: '~/projects', remote: '~/scratch/projects' }];
  it('maps below a root and suggests a home-relative entry for an unmapped DIR under home', () => {
    expect(mapSyncDir(map, '/home/me/projects/a/b', '/home/me', 'c').remote).toBe('~/scratch/projects/a/b');
    expect(() => mapSyncDir(map, '/home/me/other/x', '/home/me', 'c')).toThrow(
      'DIR ~/other/x is not under a folder mapped to cluster c (mapped folders: ~/projects → ~/scratch/projects); add a mapping to clusters.c.pathMap in the config, e.g. {"local":"~/other/x","remote":"~/other/x"}'
    );
    expect(() => mapSyncDir(undefined, '/data/x', '/home/me', 'c')).toThrow(
      /no pathMap is set for this cluster.*\{"local":"\/data\/x","remote":"~\/x"\}/
    );
  });

  it('resolves ~ on the cluster against the remote home only', () => {
    expect(resolveRemoteHome('~', '/home/u')).toBe('/home/u');
    expect(resolveRemoteHome('~/a/b', '/home/u/')).toBe('/home/u/a/b');
    expect(resolveRemoteHome('/scratch/~x', '/home/u')).toBe('/scratch/~x');
  });
});
