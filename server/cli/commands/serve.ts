import { startCompanion } from '../../main';
import { openContext } from '../context';
import { ttyPrompter } from '../tty-prompter';
import { parseCommandArgs, type Command } from '../args';
import { UsageError } from '../context';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the companion: API, live events and the proxy to sessions, on loopback',
  usage: 'hpclab serve [--port P] [--host 127.0.0.1] [--config FILE]',
  async run(argv) {
    const { values } = parseCommandArgs(this, argv, { port: { type: 'string' }, host: { type: 'string' } });
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number from 0 to 65535, got ${JSON.stringify(values.port)}`);
    const ctx = await openContext(values.config);
    await ctx.clusters.close(); // the companion builds its own, long-lived ones
    const companion = await startCompanion({ config: ctx.config, host: values.host ?? '127.0.0.1', port, prompter: ttyPrompter, advertise: true });
    process.stdout.write(`hpclab companion at ${companion.url}hpclab/api/sessions?token=${companion.token}\n`);
    await new Promise<void>(resolve => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await companion.close();
    return 0;
  }
};
