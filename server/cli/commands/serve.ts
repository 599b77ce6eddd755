import { startCompanion } from '../../main';
import { openContext } from '../context';
import { ttyPrompter } from '../tty-prompter';
import { parseCommandArgs, type Command } from '../args';
import { UsageError } from '../context';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the companion: API, live events and the proxy to sessions, on loopback',
  usage: 'hpclab serve [--port P] [--host 127.0.0.1] [--exit-when-idle SEC] [--config FILE]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { port: { type: 'string' }, host: { type: 'string' }, 'exit-when-idle': { type: 'string' } });
    const idleSec = values['exit-when-idle'] === undefined ? undefined : Number(values['exit-when-idle']);
    if (idleSec !== undefined && (!Number.isInteger(idleSec) || idleSec < 1)) throw new UsageError(`--exit-when-idle: expected a whole number of seconds (1 or more), got ${JSON.stringify(values['exit-when-idle'])}`);
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number from 0 to 65535, got ${JSON.stringify(values.port)}`);
    const ctx = await openContext(values.config, { allowMissing: true });
    await ctx.clusters.close(); // the companion builds its own, long-lived ones
    const companion = await startCompanion({ config: ctx.config, configPath: ctx.configPath, host: values.host ?? '127.0.0.1', port, prompter: ttyPrompter, advertise: true });
    process.stdout.write(`hpclab companion at ${companion.url}hpclab/api/sessions?token=${companion.token}\n`);
    await new Promise<void>(resolve => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // Started in the background by a kernel launcher: leave once nothing has needed us for a while.
      if (idleSec !== undefined) {
        let idleSince = Date.now();
        const timer = setInterval(async () => {
          if ((await companion.busy()) > 0) idleSince = Date.now();
          else if (Date.now() - idleSince >= idleSec * 1000) {
            process.stdout.write(`hpclab companion: idle for ${idleSec} s, exiting\n`);
            clearInterval(timer);
            stop();
          }
        }, Math.min(5000, idleSec * 1000));
      }
    });
    await companion.close();
    // Told to stop, the companion stops, even if a straggler (a watch on the cluster, a timer) still holds the loop.
    setTimeout(() => process.exit(0), 2000).unref();
    return 0;
  }
};
