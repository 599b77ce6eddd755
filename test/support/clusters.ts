import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterRegistry } from '../../server/app';
import { parseConfig } from '../../server/config/load';
import type { HpclabConfig } from '../../server/config/schema';
import { testbed } from './testbed';

/** The testbed's generated config, read the way the CLI reads it. */
export async function testbedConfig(): Promise<HpclabConfig> {
  const file = testbed().config;
  return parseConfig(await fs.readFile(file, 'utf8'), file);
}

/** A registry built exactly as the companion builds one, with an empty HOME unless given. */
export async function registry(
  config?: HpclabConfig,
  options: { homeDir?: string; env?: NodeJS.ProcessEnv } = {}
): Promise<ClusterRegistry> {
  const homeDir = options.homeDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-home-')));
  return new ClusterRegistry(config ?? (await testbedConfig()), { homeDir, env: options.env ?? {} });
}

/** A unique path under /tmp that both the test (root) and the testbed user can use. */
export function scratchName(tag: string): string {
  return path.join('/tmp', `hpclab-it-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}
