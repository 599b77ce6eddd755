import * as path from 'node:path';
import { parseConfig } from '../config/load';
import { ensurePrivateDir, readTextIfExists, writePrivateFileAtomic } from '../config/paths';
import type { HpclabConfig } from '../config/schema';

/*
 * The config file as setup reads and writes it: the user's JSON kept as written (no defaults
 * filled in), checked before anything is replaced, and written 0600 by rename so a crash never
 * leaves half a file.
 */

export type ConfigJson = Record<string, unknown>;

/** The config there now, checked; undefined when there is none. A broken one is an error: nothing is overwritten. */
export async function readConfigJson(file: string): Promise<ConfigJson | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  parseConfig(text, file); // throws a ConfigError naming the file and field
  return JSON.parse(text) as ConfigJson;
}

/** Checks `config` as a loaded config would be (so what is written loads), then writes it. */
export async function writeConfigJson(file: string, config: ConfigJson): Promise<HpclabConfig> {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const parsed = parseConfig(text, file);
  await ensurePrivateDir(path.dirname(file));
  await writePrivateFileAtomic(file, text);
  return parsed;
}

/**
 * Makes the companion's one config object say what `next` says. Every service holds that same
 * object and reads it at each request, so a saved cluster or profile applies without a restart.
 */
export function replaceConfig(live: HpclabConfig, next: HpclabConfig): void {
  const target = live as unknown as Record<string, unknown>;
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, next);
}
