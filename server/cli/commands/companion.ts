import * as os from 'node:os';
import * as path from 'node:path';
import { configPath, statePaths } from '../../config/paths';
import { readRuntimeInfo } from '../../main';
import { API_VERSION, HPCLAB_VERSION } from '../../version';
import { ensureLocalCompanion } from '../local-companion';
import { defineCommand } from '../args';

/** What `hpclab companion --json` prints: how a local client (the Jupyter server extension) reaches the companion. */
export interface CompanionAnswer {
  url: string;
  token: string;
  pid: number;
  version: string;
  api: number;
}

/**
 * The user's companion, started in the background when none runs: what the Python server
 * extension asks on behalf of a plain `jupyter lab`. Only the answer goes to stdout; progress
 * goes to stderr.
 */
export const companionCommand = defineCommand({
  name: 'companion',
  summary: 'Make sure my companion runs; print its URL and token',
  usage: ['hpclab companion [--json] [--config FILE]'],
  description:
    "Finds your running companion, or starts one in the background (as kernels do; it exits after 5 idle minutes), and prints its URL and token. This is what the Python package's Jupyter server extension asks.",
  flags: {
    json: { type: 'boolean', description: 'print {url, token, pid, version, api} as one JSON line' }
  },
  examples: [
    { description: "The companion's address, for a script", command: 'hpclab companion --json' },
    { description: 'A companion for another config file', command: 'hpclab companion --config ~/work/hpclab.json' }
  ],
  env: ['HPCLAB_CONFIG', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR', 'SSH_AUTH_SOCK', 'SHELL'],
  async run({ values }) {
    // The path only, not the file: a companion may start before the config exists (the Lab's setup writes it).
    const config = configPath({ flag: values.config, env: process.env, homeDir: os.homedir() }).path;
    const answer = await currentCompanion(config);
    if (values.json) process.stdout.write(JSON.stringify(answer) + '\n');
    else
      process.stdout.write(
        `hpclab companion ${answer.version} (pid ${answer.pid}) at ${answer.url}hpclab/api/sessions?token=${answer.token}\n`
      );
    return 0;
  }
});

/**
 * The running (or just started) companion with its URL. The socket answer and the runtime file
 * are read one after the other: a companion replaced in between shows a different token, so
 * look again rather than pair one companion's URL with another's token.
 */
async function currentCompanion(config: string): Promise<CompanionAnswer> {
  const log = (message: string) => process.stderr.write(`${message}\n`);
  for (let attempt = 0; attempt < 3; attempt++) {
    const companion = await ensureLocalCompanion(config, log);
    const info = await readRuntimeInfo();
    if (info && info.token === companion.token && info.pid === companion.pid) {
      return { url: info.url, token: info.token, pid: info.pid, version: HPCLAB_VERSION, api: API_VERSION };
    }
  }
  const logFile = path.join(statePaths(process.env, os.homedir()).stateDir, 'companion.log');
  throw new Error(`the companion changed three times while being asked for its address (see ${logFile})`);
}
