import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Server, utils, type Connection } from 'ssh2';
import { connectChain, type HopSpec } from '../../../server/transport/ssh/connect';
import type { PromptRequest } from '../../../server/transport/types';
import { PromptBroker } from '../../../server/api/prompt-broker';
import { startHarness } from '../api/harness';

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
  let userKey = '';
  const userKeyBlob = () => Buffer.from(readFileSync(`${userKey}.pub`, 'utf8').split(' ')[1], 'base64');

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hpclab-kbd-'));
    server = new Server({ hostKeys: [hostKey.private] }, (client: Connection) => {
      client.on('authentication', ctx => {
        // The user's key is accepted by public key; anyone else must pass the 2FA prompt.
        if (ctx.method === 'publickey' && ctx.key.data.equals(userKeyBlob())) return ctx.accept();
        if (ctx.method !== 'keyboard-interactive') return ctx.reject(['publickey', 'keyboard-interactive']);
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
    userKey = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', userKey]);
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
    expect(asked[0]).toMatchObject({
      cluster: 'kbd',
      kind: 'keyboard-interactive',
      name: 'Duo',
      instructions: 'Enter your one-time code'
    });
    expect(asked[0].prompts).toEqual([{ prompt: 'Verification code: ', echo: false }]);
  });

  it('asks for the passphrase of an encrypted key, once, and logs in with it', async () => {
    const prompts: PromptRequest[] = [];
    const client = await connectChain([{ ...hop(), identityFiles: [{ path: userKey, explicit: true }] }], {
      cluster: 'kbd',
      prompter: async request => {
        prompts.push(request);
        return ['correct horse'];
      }
    });
    client.end();
    expect(prompts.map(p => p.kind)).toEqual(['passphrase']);
    expect(prompts[0].name).toContain(userKey);
  });

  it('says which key file could not be unlocked with a wrong passphrase', async () => {
    const err = await connectChain([{ ...hop(), identityFiles: [{ path: userKey, explicit: true }] }], {
      cluster: 'kbd',
      prompter: async () => ['wrong']
    }).catch(e => e);
    expect(err).toMatchObject({ kind: 'config' });
    expect(err.message).toContain(userKey);
  });

  it('reports a wrong code as an authentication failure', async () => {
    await expect(connectChain([hop()], { cluster: 'kbd', prompter: async () => ['000000'] })).rejects.toMatchObject({
      kind: 'auth'
    });
  });

  it('asks the 2FA code in the browser: a prompt event on /events, the answer POSTed back, logged in', async () => {
    const broker = new PromptBroker(undefined);
    const h = await startHarness({ prompts: broker });
    try {
      // A browser tab listening to the companion's live events.
      const events = await fetch(`http://127.0.0.1:${h.port}/hpclab/events`, {
        headers: { Authorization: 'Bearer test-token-0123456789abcdef' }
      });
      const reader = events.body!.getReader();
      const login = connectChain([hop()], { cluster: 'kbd', prompter: broker.prompter });
      let text = '';
      while (!/event: prompt\n/.test(text)) text += Buffer.from((await reader.read()).value!).toString();
      const event = JSON.parse(/event: prompt\ndata: (.*)\n/.exec(text)![1]);
      expect(event).toMatchObject({
        cluster: 'kbd',
        kind: 'keyboard-interactive',
        name: 'Duo',
        prompts: [{ prompt: 'Verification code: ', echo: false }]
      });
      const wrongCount = await h.request('POST', `/hpclab/api/prompts/${event.id}`, {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ answers: [] })
      });
      expect([wrongCount.status, wrongCount.json.error.message]).toEqual([400, expect.stringContaining('answers')]);
      const answered = await h.request('POST', `/hpclab/api/prompts/${event.id}`, {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ answers: ['123456'] })
      });
      expect(answered.status).toBe(204);
      const client = await login;
      client.end();
      // The code never travels back out in an event, and the prompt is gone.
      while (!/event: prompt-done/.test(text)) text += Buffer.from((await reader.read()).value!).toString();
      expect(text).not.toContain('123456');
      expect(
        (
          await h.request('POST', `/hpclab/api/prompts/${event.id}`, {
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ answers: ['1'] })
          })
        ).status
      ).toBe(404);
      await reader.cancel();
    } finally {
      await h.close();
    }
  });

  it('without a browser listening, the broker falls back (or says nobody could answer)', async () => {
    const client = await connectChain([hop()], {
      cluster: 'kbd',
      prompter: new PromptBroker(async () => ['123456']).prompter
    });
    client.end();
    await expect(
      connectChain([hop()], { cluster: 'kbd', prompter: new PromptBroker(undefined).prompter })
    ).rejects.toThrow();
  });
});
