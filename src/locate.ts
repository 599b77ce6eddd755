import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import * as z from 'zod/mini';
import { HpclabApi } from './api';
import { english, type Words } from './translate';

/*
 * Where this page finds the companion, with no setting to edit:
 * - under `hpclab lab` the companion serves the page itself, at /hpclab/ on the same origin;
 * - under plain `jupyter lab`, hpclab's server extension (the Python package) answers
 *   `hpclab-companion` on the Jupyter server with the companion's loopback URL and token,
 *   starting the companion first when none runs.
 */

export interface Located {
  api: HpclabApi;
  /** In words, why no companion could be found or started (e.g. no Node.js); undefined when found. */
  problem?: string;
}

const infoSchema = z.object({ url: z.url(), token: z.string().check(z.minLength(1)) });
const errorSchema = z.object({ error: z.object({ message: z.string() }) });

/** What locate reads of the Jupyter server's reply. */
export type ServerReply = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;

/** GET `<base_url>hpclab-companion`, authenticated as every Jupyter request of this page is. */
function askJupyterServer(): Promise<ServerReply> {
  const settings = ServerConnection.makeSettings();
  return ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'hpclab-companion'), {}, settings);
}

export interface LocateOptions {
  /** Asks the Jupyter server's `hpclab-companion` route (a fake in tests). */
  askServer?: () => Promise<ServerReply>;
  fetchImpl?: typeof fetch;
  trans?: Words;
}

export async function locateCompanion({
  askServer = askJupyterServer,
  fetchImpl = (...a) => fetch(...a),
  trans = english
}: LocateOptions = {}): Promise<Located> {
  const sameOrigin = new HpclabApi('', fetchImpl, trans);
  if (await answers(sameOrigin)) return { api: sameOrigin };
  let reply: ServerReply;
  try {
    reply = await askServer();
  } catch (err) {
    return { api: sameOrigin, problem: trans.__('The Jupyter server is not answering (%1).', (err as Error).message) };
  }
  // No server extension (the extension was installed without the Python package): nothing else to try.
  if (reply.status === 404) return { api: sameOrigin };
  // Not JSON (a proxy's error page): the status line below says what there is to say.
  const body: unknown = await reply.json().catch(() => undefined);
  const info = infoSchema.safeParse(body);
  if (reply.ok && info.success) {
    const url = new URL('hpclab/', info.data.url);
    url.searchParams.set('token', info.data.token);
    return { api: new HpclabApi(url.href, fetchImpl, trans) };
  }
  const said = errorSchema.safeParse(body);
  return {
    api: sameOrigin,
    problem: said.success
      ? said.data.error.message
      : trans.__("hpclab's server extension answered %1 %2.", reply.status, reply.statusText)
  };
}

/** Whether a companion answers there (its version route), without raising. */
async function answers(api: HpclabApi): Promise<boolean> {
  try {
    return (await api.version()) !== undefined;
  } catch {
    return false; // not there (a 404 page of a plain Jupyter server, or nothing): try the next way
  }
}
