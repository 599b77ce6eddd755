import { isIP } from 'node:net';
import { z } from 'zod';
import { RELAY_PYTHON_PATTERN, SOCKET_DIR_PATTERN } from './socket-dir';

/*
 * The rendezvous file a lab job writes into its session directory once it knows where its
 * server will listen (see job-script.ts). The companion reads it to find the server and its
 * token. The file is written by a script on a shared cluster, so everything in it is checked
 * before the companion connects anywhere: the host must be a plain name or IP literal (it goes
 * to openStream, never to a shell), the port a real port, the token long enough to be random.
 */

export const RENDEZVOUS_FILE = 'rendezvous.json';
/** The Lab's unix socket, in the job's private socket directory (version 2). */
export const LAB_SOCKET = 'lab.sock';

/** Host names as Slurm nodes have them (underscores allowed; no leading '-' or '.'). */
export const HOSTNAME_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** A host name, an IPv4 or an IPv6 literal (without brackets or zone). */
export function isRendezvousHost(host: string): boolean {
  return isIP(host) !== 0 || (HOSTNAME_PATTERN.test(host) && !host.includes('..'));
}

const versionError = (issue: { input: unknown }) =>
  `version: expected 1 or 2, got ${JSON.stringify(issue.input)} (written by a newer or older hpclab?)`;

/** Version 1: a TCP port on the node (clusters with `nodeChannels: "tcp"`, older sessions). */
export const rendezvousSchema = z.object(
  {
    version: z.literal(1, { error: versionError }),
    sessionId: z.string({ error: 'sessionId: expected a string' }),
    host: z.string({ error: 'host: expected a string' }).refine(isRendezvousHost, {
      error: issue => `host: expected a host name or IP address, got ${JSON.stringify(issue.input)}`
    }),
    port: z
      .number({ error: issue => `port: expected a number, got ${JSON.stringify(issue.input)}` })
      .int({ error: issue => `port: expected a whole number, got ${String(issue.input)}` })
      .min(1, { error: issue => `port: expected 1 to 65535, got ${String(issue.input)}` })
      .max(65535, { error: issue => `port: expected 1 to 65535, got ${String(issue.input)}` }),
    token: z
      .string({ error: 'token: expected a string' })
      .regex(/^[0-9a-f]{32,}$/, { error: 'token: expected at least 32 hex characters' }),
    /** The Slurm node name ($SLURMD_NODENAME); '' when the job could not tell. */
    node: z
      .string({ error: 'node: expected a string' })
      .regex(/^[A-Za-z0-9_.-]*$/, { error: 'node: expected a node name' }),
    jobId: z
      .string({ error: 'jobId: expected a string' })
      .regex(/^[0-9_]*$/, { error: 'jobId: expected a Slurm job id' }),
    /** The server's process id on the node (the script `exec`s into the server, so it keeps its pid). */
    pid: z
      .number({ error: 'pid: expected a number' })
      .int({ error: 'pid: expected a whole number' })
      .positive({ error: 'pid: expected a positive number' })
  },
  { error: 'expected a JSON object' }
);

/** Version 2: a unix socket in the job's private directory, reached through a relay step. */
export const socketRendezvousSchema = rendezvousSchema.omit({ version: true, host: true, port: true }).extend({
  version: z.literal(2, { error: versionError }),
  socketDir: z
    .string({ error: 'socketDir: expected a string' })
    .regex(SOCKET_DIR_PATTERN, { error: 'socketDir: expected an absolute path without "..", at most 80 characters' }),
  socket: z.literal(LAB_SOCKET, { error: `socket: expected "${LAB_SOCKET}"` }),
  relayPython: z
    .string({ error: 'relayPython: expected a string' })
    .regex(RELAY_PYTHON_PATTERN, { error: 'relayPython: expected an absolute path' })
});

export type Rendezvous = z.output<typeof rendezvousSchema> | z.output<typeof socketRendezvousSchema>;

export class RendezvousError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RendezvousError';
  }
}

/**
 * Parses a rendezvous file's text and checks it belongs to `expected.sessionId` (a stale file
 * from another session must never point the proxy at someone else's server). Throws a
 * RendezvousError naming each bad field; the token never appears in a message.
 */
export function parseRendezvous(text: string, expected: { sessionId: string }): Rendezvous {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RendezvousError(`rendezvous file is not JSON: ${(err as Error).message}`);
  }
  const v2 = typeof json === 'object' && json !== null && (json as { version?: unknown }).version === 2;
  const result = (v2 ? socketRendezvousSchema : rendezvousSchema).safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map(issue => issue.message);
    throw new RendezvousError(`bad rendezvous file: ${problems.join('; ')}`);
  }
  if (result.data.sessionId !== expected.sessionId) {
    throw new RendezvousError(
      `rendezvous file is for session ${JSON.stringify(result.data.sessionId)}, not ${JSON.stringify(expected.sessionId)}`
    );
  }
  return result.data;
}
