import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection } from 'ssh2';
import { connectChain, type HopSpec } from '../../../server/transport/ssh/connect';
import type { PromptRequest } from '../../../server/transport/types';

/**
 * A real SSH server (ssh2's, in-process) that, like a 2FA login node, accepts only a
 * keyboard-interactive one-time code. The test checks the prompt reaches our prompter and the
 * answer logs us in.
 */
describe('keyboard-interactive login (2FA)', () => {
  const hostKey = utils.generateKeyPairSync('ed25519');
  let server: Server;
  let port: number;
  let dir: string;
  const asked: PromptRequest[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-kbd-'));
    server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      client.on('authentication', ctx => {
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
        ctx.prompt([{ prompt: 'Verification code: ', echo: false }], 'Duo', 'Enter your one-time code', answers => {
          if (answers[0] === '123456') ctx.accept();
          else ctx.reject();
        });
      });
      client.on('ready', () => {
        client.on('session', accept => {
          accept().once('exec', (acceptExec, _reject, info) => {
            const stream = acceptExec();
            stream.write(`ran: ${info.command}\n`);
            stream.exit(0);
            stream.end();
          });
        });
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const known = `[127.0.0.1]:${port} ${hostKey.public.split(' ').slice(0, 2).join(' ')}\n`;
    await fs.writeFile(path.join(dir, 'known_hosts'), known);
  });

  afterAll(async () => {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const hop = (): HopSpec => ({
    hostName: '127.0.0.1',
    port,
    username: 'researcher',
    identityFiles: [],
    identitiesOnly: true,
    knownHostsFiles: [path.join(dir, 'known_hosts')],
    keepaliveSec: 15,
    keepaliveCountMax: 3,
    connectTimeoutSec: 10
  });

  it('hands the prompt to the prompter and logs in with its answer', async () => {
    const client = await connectChain([hop()], {
      cluster: 'kbd',
      prompter: async request => {
        asked.push(request);
        return ['123456'];
      }
    });
    const out = await new Promise<string>((resolve, reject) => {
      client.exec('hostname', (err, stream) => {
        if (err) return reject(err);
        let text = '';
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('close', () => resolve(text));
      });
    });
    client.end();
    expect(out).toBe('ran: hostname\n');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ cluster: 'kbd', kind: 'keyboard-interactive', name: 'Duo', instructions: 'Enter your one-time code' });
    expect(asked[0].prompts).toEqual([{ prompt: 'Verification code: ', echo: false }]);
  });

  it('reports a wrong code as an authentication failure', async () => {
    await expect(connectChain([hop()], { cluster: 'kbd', prompter: async () => ['000000'] })).rejects.toMatchObject({ kind: 'auth' });
  });
});
