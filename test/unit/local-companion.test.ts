import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../server/config/load';
import { ensureLocalCompanion, findLocalCompanion } from '../../server/cli/local-companion';
import { companionLockFile, runtimeFile, startCompanion } from '../../server/main';

/*
 * A kernel launcher whose companion was killed reads the runtime file while a new companion
 * starts. It must never pair the dead companion's token with the new companion's socket: that
 * pairing was a 401 and a lost kernel (the new companion listened on the same socket path a
 * moment before it rewrote the runtime file).
 */
const CONFIG = parseConfig(
  '{"clusters": {"here": {"local": true}}, "profiles": {"cpu": {"cluster": "here"}}}',
  'config.json'
);

let home: string;
const env = (): NodeJS.ProcessEnv => ({ HOME: home, XDG_RUNTIME_DIR: '', XDG_STATE_HOME: '' });

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-local-companion-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** What a companion killed with -9 leaves: its runtime file, its socket file, its lock. */
function leaveCrashedCompanion(): { token: string; socket: string } {
  const file = runtimeFile(env(), home);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const socket = path.join(path.dirname(file), 'companion.sock');
  fs.writeFileSync(socket, '');
  const deadPid = 2 ** 22 + 1; // above pid_max's default: no such process
  fs.writeFileSync(path.join(path.dirname(file), 'companion.lock'), `${deadPid}\n`, { mode: 0o600 });
  const token = 'f'.repeat(64);
  fs.writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1/', token, pid: deadPid, socket }) + '\n', {
    mode: 0o600
  });
  return { token, socket };
}

it('a launcher polling through a restart sees nothing, then the new companion with its own token', async () => {
  const crashed = leaveCrashedCompanion();
  const seen: string[] = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const found = await findLocalCompanion(env(), home);
      if (found) seen.push(found.token);
      await new Promise(r => setImmediate(r));
    }
  })();
  const companion = await startCompanion({
    config: CONFIG,
    env: env(),
    homeDir: home,
    advertise: true,
    configPath: 'config.json'
  });
  try {
    // Keep polling after the start until the new companion is seen too (a loaded machine is slow).
    const until = Date.now() + 10_000;
    while (Date.now() < until && !seen.includes(companion.token)) await new Promise(r => setTimeout(r, 10));
    polling = false;
    await poll;
    expect(seen).toContain(companion.token);
    expect(seen.filter(t => t !== companion.token)).toEqual([]);
    expect(companion.socketPath).not.toBe(crashed.socket);
    // The dead companion's socket file is cleared, the live one is private.
    expect(fs.existsSync(crashed.socket)).toBe(false);
    expect(fs.statSync(companion.socketPath!).mode & 0o777).toBe(0o600);
  } finally {
    polling = false;
    await companion.close();
  }
  expect(fs.existsSync(companion.socketPath!)).toBe(false);
  expect(await findLocalCompanion(env(), home)).toBeUndefined();
});

it("a launcher whose own companion lost the start-up race waits for the winner, not 'did not start'", async () => {
  // The winner holds the lock but has not answered yet (it is still connecting). Here the winner
  // is this process, which starts its companion 1.5 s later; the launcher's own companion exits
  // at once (under ts-jest there is no built main.js for it to run), as a loser of the race does.
  const lock = companionLockFile(env(), home);
  fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
  fs.writeFileSync(lock, `${process.pid}\n`, { mode: 0o600 });
  const logs: string[] = [];
  const launched = ensureLocalCompanion('config.json', m => logs.push(m), env(), home);
  await new Promise(r => setTimeout(r, 1500));
  const companion = await startCompanion({
    config: CONFIG,
    env: env(),
    homeDir: home,
    advertise: true,
    configPath: 'config.json'
  });
  try {
    expect((await launched).token).toBe(companion.token);
    expect(logs.join('\n')).toContain('started the companion in the background');
  } finally {
    await companion.close();
  }
});
