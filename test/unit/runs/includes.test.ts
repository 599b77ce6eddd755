import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectIncludes, includeDirs } from '../../../server/runs/includes';
import { RunInputError } from '../../../server/runs/run-script';

let cwd: string;

beforeAll(async () => {
  cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-includes-'));
  await fs.mkdir(path.join(cwd, 'data', 'raw'), { recursive: true });
  await fs.writeFile(path.join(cwd, 'data', 'a.csv'), 'x,y\n');
  await fs.writeFile(path.join(cwd, 'data', 'raw', 'b.bin'), Buffer.from([0, 1, 2]));
  await fs.writeFile(path.join(cwd, 'tool.sh'), 'echo hi\n', { mode: 0o755 });
  await fs.writeFile(path.join(cwd, 'train.py'), 'print(1)\n');
  await fs.writeFile(path.join(cwd, 'bad\nname'), '');
  await fs.symlink('/etc/passwd', path.join(cwd, 'link'));
  await fs.mkdir(path.join(cwd, 'out'));
});
afterAll(() => fs.rm(cwd, { recursive: true, force: true }));

test('files and folders keep their place relative to the current directory, with their mode', async () => {
  const files = await collectIncludes(cwd, ['data', './tool.sh', 'data/a.csv'], 'train.py');
  expect(files.map(f => [f.path, f.mode, f.data.length])).toEqual([
    ['data/a.csv', 0o600, 4],
    ['data/raw/b.bin', 0o600, 3],
    ['tool.sh', 0o700, 8]
  ]);
  expect(includeDirs(files)).toEqual(['data', 'data/raw']);
});

test.each([
  ['../x', /only paths inside the current directory/],
  ['/etc/passwd', /only paths inside the current directory/],
  ['.', /only paths inside the current directory/],
  ['out', /out is the run directory's own/],
  ['train.py', /train\.py is the run directory's own/],
  ['link', /link is a symbolic link/],
  ['bad\nname', /control characters in a name/],
  ['missing.csv', /cannot read it: ENOENT/]
])('refuses %j naming --include and why', async (given, message) => {
  const err = await collectIncludes(cwd, ['data', given], 'train.py').catch(e => e);
  expect(err).toBeInstanceOf(RunInputError);
  expect(err.message.startsWith(`--include ${JSON.stringify(given)}: `)).toBe(true);
  expect(err.message).toMatch(message);
  expect(err.field).toBe('include[1]');
});
