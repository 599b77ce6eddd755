import { spawn } from 'node:child_process';
import { getProfile } from '../../config/load';
import { startCompanion, type RunningCompanion } from '../../main';
import type { SessionInfo } from '../../sessions/types';
import { openContext, UsageError } from '../context';
import { ttyPrompter } from '../tty-prompter';
import { defineCommand } from '../args';
import { urlLine } from '../url-output';
import type { Progress } from '../progress';

export const tunnelCommand = defineCommand({
  name: 'tunnel',
  summary: 'JupyterLab on a compute node, served on localhost: one command from a laptop',
  usage: ['hpclab tunnel [--cluster C] [--profile P] [--port N] [--no-browser] [--keep] [--json] [--config FILE]'],
  description:
    'Finds your running Lab session for the profile, or submits one (showing its place in the queue while it waits), serves it on localhost and opens the browser. Ctrl-C stops the job unless --keep.',
  flags: {
    cluster: { type: 'string', value: 'C', description: "the cluster, if not the profile's" },
    profile: {
      type: 'string',
      value: 'P',
      description: 'the profile to run the Lab with (default: defaults.profile in the config, else the first profile)'
    },
    port: { type: 'string', value: 'N', description: 'the local port to serve on (default 0: a free one)' },
    'no-browser': { type: 'boolean', description: 'do not open a browser; only print the URL' },
    keep: { type: 'boolean', description: 'leave the job running on Ctrl-C, to come back to it later' },
    json: {
      type: 'boolean',
      description:
        'print {url, token, pid, session, jobId, node} as one JSON line instead of "Jupyter at: URL" (url opens JupyterLab, token included)'
    }
  },
  examples: [
    { description: 'JupyterLab on a GPU node, in your browser', command: 'hpclab tunnel --profile gpu' },
    {
      description: 'Keep the job when you leave; print the URL for a script',
      command: 'hpclab tunnel --profile gpu --keep --no-browser --json'
    }
  ],
  env: [
    'HPCLAB_CONFIG',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
    'JUPYTER_DATA_DIR',
    'XDG_DATA_HOME',
    'SSH_AUTH_SOCK',
    'SHELL',
    'CI'
  ],
  async run({ values }) {
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(
        `--port: expected a port number from 0 to 65535 (0 or no --port picks a free one), got ${JSON.stringify(values.port)}`
      );
    const ctx = await openContext(values.config);
    await ctx.clusters.close();
    const profileName = values.profile ?? ctx.config.defaults?.profile ?? Object.keys(ctx.config.profiles ?? {})[0];
    if (!profileName)
      throw new UsageError(
        `--profile: none given and ${ctx.configPath} defines no profiles; add one with hpclab init (or by hand), then name it with --profile`
      );
    const profile = getProfile(ctx.config, profileName);
    const cluster = values.cluster ?? profile.cluster;

    const companion = await startCompanion({ config: ctx.config, port, prompter: ttyPrompter });
    let session: SessionInfo | undefined;
    const stopJob = async () => {
      // Leaving anyway (Ctrl-C or a failure being reported): say how to stop the job by hand.
      if (session && !values.keep) {
        const id = session.id;
        await companion.sessions
          .stop(id)
          .catch(err =>
            process.stderr.write(
              `hpclab tunnel: could not stop session ${id}: ${(err as Error).message}; stop it with hpclab sessions stop ${id}\n`
            )
          );
      }
      await companion.close();
    };
    try {
      session = await findOrStart(companion, cluster, profileName, ctx.progress);
      session = await waitRunning(companion, session.id, ctx.progress);
    } catch (err) {
      await stopJob();
      throw err;
    }
    const url = `${companion.url}hpclab/node/${session.id}/?token=${companion.token}`;
    process.stdout.write(
      urlLine(values.json, `Jupyter at: ${url}`, {
        url,
        token: companion.token,
        pid: process.pid,
        session: session.id,
        jobId: session.jobId,
        node: session.node
      })
    );
    process.stderr.write(
      `Session ${session.id} (job ${session.jobId} on ${session.node}). Ctrl-C to ${values.keep ? 'leave it running' : 'stop it'}.\n`
    );
    if (!values['no-browser']) openBrowser(url);
    const ended = await new Promise<SessionInfo | undefined>(resolve => {
      process.once('SIGINT', () => resolve(undefined));
      process.once('SIGTERM', () => resolve(undefined));
      companion.sessions.subscribe(e => {
        if (
          e.type === 'session' &&
          e.session.id === session!.id &&
          (e.session.state === 'ended' || e.session.state === 'failed')
        )
          resolve(e.session);
        if (e.type === 'walltime-warning' && e.sessionId === session!.id)
          process.stderr.write(`hpclab: ${e.minutesLeft} min left before the job's time limit: save your work.\n`);
      });
    });
    await stopJob();
    if (ended)
      process.stderr.write(
        `Session ended: ${ended.endReason ?? ended.state}${ended.message ? ` (${ended.message.split('\n')[0]})` : ''}\n`
      );
    return ended?.state === 'failed' ? 1 : 0;
  }
});

/** This user's live Lab session for the profile (re-attached from squeue), else a new one. */
async function findOrStart(
  companion: RunningCompanion,
  cluster: string,
  profile: string,
  progress: Progress
): Promise<SessionInfo> {
  // One squeue, so sessions the store forgot are adopted before we look.
  await progress.during(`Looking for your sessions on ${cluster}…`, () =>
    companion.clusters.get(cluster).poller.jobs.get(0)
  );
  const live = companion.sessions
    .list()
    .find(
      s =>
        s.cluster === cluster &&
        s.profile === profile &&
        s.kind === 'lab' &&
        !['ended', 'failed', 'ending'].includes(s.state)
    );
  if (live) return live;
  return progress.during(`Submitting a ${profile} session to ${cluster}…`, () =>
    companion.sessions.create({ kind: 'lab', profile, cluster })
  );
}

/** Waits for the Lab to answer, showing where the job is: queue reason, place, estimate. */
function waitRunning(companion: RunningCompanion, id: string, progress: Progress): Promise<SessionInfo> {
  return new Promise((resolve, reject) => {
    const check = (s: SessionInfo | undefined) => {
      if (!s) return;
      if (s.state === 'running') {
        done();
        resolve(s);
      } else if (s.state === 'ended' || s.state === 'failed') {
        done();
        reject(new Error(`the session ${s.state}: ${s.message ?? s.endReason ?? ''}`));
      } else progress.update(describeWait(s));
    };
    const unsubscribe = companion.sessions.subscribe(
      e => e.type === 'session' && e.session.id === id && check(e.session)
    );
    const done = () => {
      unsubscribe();
      progress.stop();
    };
    check(companion.sessions.get(id));
  });
}

export function describeWait(s: SessionInfo): string {
  if (s.state === 'pending') {
    const where = s.pending?.position ? `, #${s.pending.position} in the queue` : '';
    const when = s.pending?.estimatedStart
      ? `, estimated start ${new Date(s.pending.estimatedStart).toLocaleTimeString()}`
      : '';
    return `Job ${s.jobId ?? ''} pending (${s.pending?.reason ?? 'waiting'}${where}${when})…`;
  }
  return `Job ${s.jobId} ${s.state} on ${s.node ?? 'a node'}: waiting for Jupyter to answer…`;
}

export function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`(could not start ${opener}; open the URL above yourself)\n`));
  child.unref();
}
