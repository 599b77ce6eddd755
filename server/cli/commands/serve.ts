import { startCompanion } from '../../main';
import { ttyPrompter } from '../tty-prompter';
import { defineCommand } from '../args';
import { openContext, UsageError } from '../context';
import { urlLine } from '../url-output';
import { API_VERSION, HPCLAB_VERSION } from '../../version';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Run the companion: API, live events and the proxy to sessions, on loopback',
  usage: ['hpclab serve [--port P] [--host ADDR] [--exit-when-idle SEC] [--json] [--verbose] [--config FILE]'],
  description:
    "Runs the companion in the foreground until Ctrl-C: the REST API under /hpclab/api, live events at /hpclab/events, and every session's Lab at /hpclab/node/<session>/, all behind a token. Prints its URL with the token, and advertises itself so kernels and 'hpclab companion' find it.",
  flags: {
    port: { type: 'string', value: 'P', description: 'the port to listen on (default 0: a free one)' },
    host: {
      type: 'string',
      value: 'ADDR',
      description:
        'the address to listen on (default 127.0.0.1; anything else exposes the companion beyond this machine)'
    },
    'exit-when-idle': {
      type: 'string',
      value: 'SEC',
      description: 'exit once nothing (kernel, tab, request) has needed the companion for SEC seconds'
    },
    json: {
      type: 'boolean',
      description:
        'print {url, token, pid, version, api} as one JSON line instead of the URL line (url is the base URL; send the token as "Authorization: token …")'
    },
    verbose: {
      type: 'boolean',
      description:
        'log everything the companion does on stderr, errors with their stacks (the same as HPCLAB_LOG=debug)'
    }
  },
  examples: [
    { description: 'The companion on a free loopback port', command: 'hpclab serve' },
    { description: 'On a fixed port, its address read by a script', command: 'hpclab serve --port 8765 --json' },
    {
      description: 'Watch what it does: sessions, SSH connections, failures with their stacks',
      command: 'hpclab serve --verbose'
    }
  ],
  env: [
    'HPCLAB_CONFIG',
    'HPCLAB_LOG',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
    'XDG_RUNTIME_DIR',
    'SSH_AUTH_SOCK',
    'SHELL',
    'JUPYTER_DATA_DIR',
    'XDG_DATA_HOME'
  ],
  async run({ values }) {
    const idleSec = values['exit-when-idle'] === undefined ? undefined : Number(values['exit-when-idle']);
    if (idleSec !== undefined && (!Number.isInteger(idleSec) || idleSec < 1))
      throw new UsageError(
        `--exit-when-idle: expected a whole number of seconds (1 or more), got ${JSON.stringify(values['exit-when-idle'])}; e.g. --exit-when-idle 300`
      );
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(
        `--port: expected a port number from 0 to 65535 (0 or no --port picks a free one), got ${JSON.stringify(values.port)}`
      );
    const ctx = await openContext(values.config, { allowMissing: true });
    await ctx.clusters.close(); // the companion builds its own, long-lived ones
    const companion = await startCompanion({
      config: ctx.config,
      configPath: ctx.configPath,
      host: values.host ?? '127.0.0.1',
      port,
      prompter: ttyPrompter,
      advertise: true,
      verbose: values.verbose
    });
    const human = `hpclab companion at ${companion.url}hpclab/api/sessions?token=${companion.token}`;
    process.stdout.write(
      urlLine(values.json, human, {
        url: companion.url,
        token: companion.token,
        pid: process.pid,
        version: HPCLAB_VERSION,
        api: API_VERSION
      })
    );
    await new Promise<void>(resolve => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // Started in the background by a kernel launcher: leave once nothing has needed us for a while.
      if (idleSec !== undefined) {
        let idleSince = Date.now();
        const timer = setInterval(
          async () => {
            if ((await companion.busy()) > 0) idleSince = Date.now();
            else if (Date.now() - idleSince >= idleSec * 1000) {
              // With --json, stdout holds the one answer line only.
              (values.json ? process.stderr : process.stdout).write(
                `hpclab companion: idle for ${idleSec} s, exiting\n`
              );
              clearInterval(timer);
              stop();
            }
          },
          Math.min(5000, idleSec * 1000)
        );
      }
    });
    await companion.close();
    // Told to stop, the companion stops, even if a straggler (a watch on the cluster, a timer) still holds the loop.
    setTimeout(() => process.exit(0), 2000).unref();
    return 0;
  }
});
