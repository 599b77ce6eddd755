import type { HpclabApi } from '../api';
import {
  discoverySchema,
  profileReplySchema,
  removedProfileSchema,
  saveResultSchema,
  setupInfoSchema,
  type Discovery,
  type ProfileConfig,
  type ProfileReply,
  type SaveResult,
  type SetupInfo
} from '../contract';

/**
 * The companion's setup routes, through the one request path (`HpclabApi.request`), so failures
 * arrive as HpclabError with the fields a 400 names. Give it `() => model.api` rather than the
 * api itself: the model is repointed when the setting changes or a restarted companion moves.
 */
export class SetupApi {
  private readonly current: () => HpclabApi;

  constructor(api: HpclabApi | (() => HpclabApi)) {
    this.current = typeof api === 'function' ? api : () => api;
  }

  private get api(): HpclabApi {
    return this.current();
  }

  /** Where the config lives, whether it exists, and the user's ~/.ssh/config host aliases. */
  info(): Promise<SetupInfo> {
    return this.api.request('GET', 'api/setup', setupInfoSchema);
  }

  /** Connects to `host` and asks Slurm what it offers; SSH prompts arrive as live events meanwhile. */
  discover(host: string, cluster?: string): Promise<Discovery> {
    return this.api.request('POST', 'api/setup/discover', discoverySchema, cluster ? { host, cluster } : { host });
  }

  /** Writes the cluster and these profiles into the config (the companion merges, never clobbers). */
  save(host: string, cluster: string, profiles: Record<string, ProfileConfig>): Promise<SaveResult> {
    return this.api.request('POST', 'api/setup/save', saveResultSchema, { host, cluster, profiles });
  }

  /** The profile as written in the config (not the summary `GET api/profiles` gives). */
  profileConfig(name: string): Promise<ProfileReply> {
    return this.api.request('GET', `api/profiles/${encodeURIComponent(name)}/config`, profileReplySchema);
  }

  /** Creates or replaces the profile; a bad field is a 400 naming e.g. `profile.time`. */
  putProfile(name: string, profile: ProfileConfig): Promise<ProfileReply> {
    return this.api.request('PUT', `api/profiles/${encodeURIComponent(name)}`, profileReplySchema, { profile });
  }

  async removeProfile(name: string): Promise<void> {
    await this.api.request('DELETE', `api/profiles/${encodeURIComponent(name)}`, removedProfileSchema);
  }
}
