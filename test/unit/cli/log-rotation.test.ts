import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rotateLog, ROTATE_OVER_BYTES } from '../../../server/cli/log-rotation';

/* companion.log is rotated (log → .1 → .2 → .3, three kept) when it is over 1 MiB. */

let dir: string;
let log: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-rotate-'));
  log = path.join(dir, 'companion.log');
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const write = (file: string, text: string) => fs.writeFile(file, text, { mode: 0o600 });
const read = (file: string) => fs.readFile(file, 'utf8').catch(() => undefined); // absent reads as undefined
const big = (mark: string) => mark + 'x'.repeat(ROTATE_OVER_BYTES);

it('leaves a log of 1 MiB or less, and a missing one, alone', async () => {
  expect(await rotateLog(log)).toBe(false);
  await write(log, 'x'.repeat(ROTATE_OVER_BYTES));
  expect(await rotateLog(log)).toBe(false);
  expect((await fs.readdir(dir)).sort()).toEqual(['companion.log']);
});

it('shifts the older logs down, keeps three, and drops the oldest', async () => {
  await write(log, big('now'));
  await write(`${log}.1`, 'one');
  await write(`${log}.2`, 'two');
  await write(`${log}.3`, 'three');
  expect(await rotateLog(log)).toBe(true);
  expect(await read(log)).toBeUndefined();
  expect((await read(`${log}.1`))?.slice(0, 3)).toBe('now');
  expect(await read(`${log}.2`)).toBe('one');
  expect(await read(`${log}.3`)).toBe('two');
  expect((await fs.readdir(dir)).sort()).toEqual(['companion.log.1', 'companion.log.2', 'companion.log.3']);
  for (const name of await fs.readdir(dir)) expect((await fs.stat(path.join(dir, name))).mode & 0o777).toBe(0o600);
});

it('copes with gaps in the series', async () => {
  await write(log, big('now'));
  await write(`${log}.2`, 'two');
  expect(await rotateLog(log)).toBe(true);
  expect((await read(`${log}.1`))?.slice(0, 3)).toBe('now');
  expect(await read(`${log}.2`)).toBeUndefined();
  expect(await read(`${log}.3`)).toBe('two');
});

it('takes its size limit and count as options', async () => {
  await write(log, '12345');
  await write(`${log}.1`, 'one');
  expect(await rotateLog(log, { overBytes: 4, keep: 1 })).toBe(true);
  expect(await read(`${log}.1`)).toBe('12345');
  expect(await read(`${log}.2`)).toBeUndefined();
});
