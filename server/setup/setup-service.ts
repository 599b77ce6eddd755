import { z } from 'zod';
import type { ClusterRegistry } from '../app';
import { ConfigError, issuesToProblems, parseConfig } from '../config/load';
import { readTextIfExists } from '../config/paths';
import { profileSchema, type HpclabConfig, type ProfileConfig } from '../config/schema';
import { stderrLogger, type Logger } from '../log';
import { readSshConfig } from '../transport/ssh/ssh-config';
import { replaceConfig, readConfigJson, writeConfigJson, type ConfigJson } from './config-file';
import { discoverCluster, discoverySummary } from './discover';
import { SetupError } from './errors';
import { clusterNameFor, mergeIntoConfig, proposeProfiles } from './proposal';
import { listSshHosts } from './ssh-hosts';

/*
 * "Add a cluster" and "Edit profiles" for the companion's API: the same discovery and merge as
 * `hpclab init`, plus profile edits, each written to the config file and applied to the running
 * companion at once. Writes are serialized: two tabs saving at once never lose one another's edit.
 */

export interface SetupDeps {
  configPath: string;
  /** The companion's live config (every service reads this object). */
  config: HpclabConfig;
  clusters: ClusterRegistry;
  /** A registry for a cluster not in the config yet, built like the companion's (same prompter). */
  probeRegistry(config: HpclabConfig): ClusterRegistry;
  homeDir: string;
  /** Default: warnings on stderr. */
  logger?: Logger;
}

interface Probe {
  host: string;
  registry: ClusterRegistry;
  timer: NodeJS.Timeout;
}

/** A discovery's connection waits this long for "Save" before it is closed. */
const PROBE_KEEP_MS = 10 * 60_000;

export class SetupService {
  private readonly probes = new Map<string, Probe>();
  private writes: Promise<unknown> = Promise.resolve();
  private readonly logger: Logger;

  constructor(private readonly deps: SetupDeps) {
    this.logger = deps.logger ?? stderrLogger('setup');
  }

  async info() {
    const configured = (await readTextIfExists(this.deps.configPath)) !== undefined;
    return {
      configPath: this.deps.configPath,
      configured,
      hosts: listSshHosts(await readSshConfig(this.deps.homeDir))
    };
  }

  /** Connects to `host` (an ~/.ssh/config alias or host name) and proposes profiles; writes nothing. */
  async discover(host: string, clusterName?: string) {
    const t0 = Date.now();
    const cluster = clusterName ?? clusterNameFor(host);
    const clusterConfig = { ssh: { host } };
    const existing = await readConfigJson(this.deps.configPath);
    this.merge(existing, cluster, clusterConfig, {}); // a clash fails before we connect
    const probe = this.deps.probeRegistry(this.probeConfig(cluster, clusterConfig));
    this.dropProbe(cluster);
    try {
      const { transport, scheduler } = probe.get(cluster);
      const found = await discoverCluster(host, transport, scheduler);
      const merged = this.merge(existing, cluster, clusterConfig, proposeProfiles(cluster, found.facts));
      const proposed = Object.fromEntries(
        merged.added.map(name => [name, (merged.config.profiles as Record<string, ProfileConfig>)[name]])
      );
      // Kept open for "Save": the user is not asked for their 2FA code a second time.
      this.probes.set(cluster, {
        host,
        registry: probe,
        timer: setTimeout(() => this.dropProbe(cluster), PROBE_KEEP_MS).unref()
      });
      return {
        cluster,
        host,
        ...discoverySummary(found),
        profiles: proposed,
        existingProfiles: Object.keys((existing?.profiles as ConfigJson | undefined) ?? {}),
        slurmCalls: found.slurmCalls,
        seconds: Math.round((Date.now() - t0) / 100) / 10
      };
    } catch (err) {
      this.logger.info(`discovering ${host} as cluster ${cluster} failed`, err);
      await probe.close();
      throw err;
    }
  }

  /** Writes the cluster and the chosen profiles into the config (merged, never clobbering). */
  save(host: string, cluster: string, profiles: Record<string, unknown>) {
    return this.write(
      `cluster ${cluster} (${host}) and profiles ${Object.keys(profiles).join(', ') || '(none)'}`,
      async existing => {
        const checked = Object.fromEntries(
          Object.entries(profiles).map(([name, p]) => [name, this.checkProfile(p, `profiles.${name}`)])
        );
        const merged = this.merge(existing, cluster, { ssh: { host } }, checked);
        return { next: merged.config, reply: { configPath: this.deps.configPath, cluster, added: merged.added } };
      }
    ).then(reply => {
      const probe = this.probes.get(cluster);
      if (probe?.host === host) {
        const services = probe.registry.release(cluster);
        if (services) this.deps.clusters.adopt(services);
      }
      this.dropProbe(cluster);
      return reply;
    });
  }

  async profileConfig(name: string) {
    const existing = await readConfigJson(this.deps.configPath);
    const profile = (existing?.profiles as ConfigJson | undefined)?.[name];
    if (profile === undefined) throw new SetupError('not-found', `no profile "${name}" in ${this.deps.configPath}`);
    return { name, profile };
  }

  /** Creates or replaces one profile; everything else in the file stays as it was. */
  putProfile(name: string, profile: unknown) {
    return this.write(`profile ${name}`, async existing => {
      if (!existing)
        throw new SetupError('invalid', `there is no config yet (${this.deps.configPath}): add a cluster first`);
      const checked = this.checkProfile(profile, 'profile');
      const profiles = { ...((existing.profiles as ConfigJson | undefined) ?? {}), [name]: checked };
      return { next: { ...existing, profiles }, reply: { name, profile: checked } };
    });
  }

  removeProfile(name: string) {
    return this.write(`profile ${name} removed`, async existing => {
      const profiles = { ...((existing?.profiles as ConfigJson | undefined) ?? {}) };
      if (!existing || profiles[name] === undefined)
        throw new SetupError('not-found', `no profile "${name}" in ${this.deps.configPath}`);
      delete profiles[name];
      const next: ConfigJson = { ...existing, profiles };
      // The default profile that is gone is no longer the default (the config would not load).
      const defaults = existing.defaults as ConfigJson | undefined;
      if (defaults?.profile === name) {
        const { profile: _gone, ...rest } = defaults;
        next.defaults = rest;
      }
      return { next, reply: { name, removed: true as const } };
    });
  }

  /** Closes connections kept for a "Save" that never came. */
  async close(): Promise<void> {
    for (const cluster of [...this.probes.keys()]) this.dropProbe(cluster);
  }

  /** The host and cluster name as a config of one cluster, checked like any config. */
  private probeConfig(cluster: string, clusterConfig: ConfigJson): HpclabConfig {
    try {
      return parseConfig(JSON.stringify({ clusters: { [cluster]: clusterConfig }, profiles: {} }), 'setup');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const fields = err.problems.map(p => ({
        path: p.path.startsWith('clusters.') && p.path.endsWith('.host') ? 'host' : 'cluster',
        message: p.message
      }));
      throw new SetupError('invalid', fields.map(f => `${f.path}: ${f.message}`).join('; '), fields);
    }
  }

  private checkProfile(value: unknown, at: string): ProfileConfig {
    const parsed = profileSchema.safeParse(value);
    if (parsed.success) return value as ProfileConfig; // as the user wrote it: no defaults filled in
    const fields = issuesToProblems((parsed.error as z.ZodError).issues).map(p => ({
      path: p.path ? `${at}.${p.path}` : at,
      message: p.message
    }));
    throw new SetupError('invalid', fields.map(f => `${f.path}: ${f.message}`).join('; '), fields);
  }

  private merge(
    existing: ConfigJson | undefined,
    cluster: string,
    clusterConfig: ConfigJson,
    profiles: Record<string, ProfileConfig>
  ) {
    try {
      return mergeIntoConfig(existing, cluster, clusterConfig, profiles);
    } catch (err) {
      throw new SetupError('conflict', (err as Error).message.replace('with --cluster', 'as the cluster name'), [
        { path: 'cluster', message: (err as Error).message }
      ]);
    }
  }

  /** One write at a time: read the file, change it, check it loads, write it, apply it. */
  private write<T>(
    what: string,
    change: (existing: ConfigJson | undefined) => Promise<{ next: ConfigJson; reply: T }>
  ): Promise<T> {
    const run = this.writes.then(async () => {
      const { next, reply } = await change(await readConfigJson(this.deps.configPath));
      replaceConfig(this.deps.config, await writeConfigJson(this.deps.configPath, next));
      this.logger.info(`wrote ${this.deps.configPath}: ${what}`);
      return reply;
    });
    // The queue goes on after a failed write; the failure itself goes to the caller.
    this.writes = run.catch(() => undefined);
    return run;
  }

  private dropProbe(cluster: string): void {
    const probe = this.probes.get(cluster);
    if (!probe) return;
    this.probes.delete(cluster);
    clearTimeout(probe.timer);
    probe.registry.close().catch(err => this.logger.warn(`closing the connection to ${probe.host} failed`, err));
  }
}
