import { readRuntimeInfo } from '../main';

/** A running companion, found through its runtime file, and asked over its HTTP API. */
export interface CompanionClient {
  url: string;
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export async function findCompanion(): Promise<CompanionClient | undefined> {
  const info = await readRuntimeInfo();
  try {
    if (!info) return undefined;
    process.kill(info.pid, 0); // still alive?
  } catch {
    // The companion that wrote the runtime file is gone (or the pid is now someone else's): none runs.
    return undefined;
  }
  return {
    url: info.url,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(new URL(path, info.url), {
        method,
        headers: { Authorization: `token ${info.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined
      });
      // A reply that is not JSON (a proxy's error page) still yields the status below.
      const data = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      if (!res.ok) throw new Error(data.error?.message ?? `the companion answered ${res.status}`);
      return data as T;
    }
  };
}
