import { promises as fs } from 'node:fs';
import {
  utils,
  type AuthHandlerMiddleware,
  type AuthenticationType,
  type KeyboardInteractiveCallback,
  type ParsedKey,
  type Prompt
} from 'ssh2';
import { TransportError } from '../errors';
import type { Prompter } from '../types';

export interface IdentityFile {
  path: string;
  /** Defaults (~/.ssh/id_*) that do not exist are skipped quietly; a configured one is an error. */
  explicit: boolean;
}

export interface AuthOptions {
  cluster: string;
  /** `user@host:port`, for messages and prompts. */
  label: string;
  username: string;
  identityFiles: IdentityFile[];
  /** Offer only the identity files, not the agent's keys (IdentitiesOnly). */
  identitiesOnly: boolean;
  /** ssh-agent socket, or undefined for none. */
  agentSocket?: string;
  prompter?: Prompter;
}

type Method = () => Promise<unknown | null>;

/**
 * The order OpenSSH uses: agent keys, then identity files, then keyboard-interactive (2FA).
 * Each method is built lazily so a passphrase is only asked for if the server gets that far.
 */
export function createAuthHandler(options: AuthOptions): {
  handler: AuthHandlerMiddleware;
  lastError: () => Error | undefined;
} {
  const { username } = options;
  const methods: { type: AuthenticationType; build: Method }[] = [];
  if (options.agentSocket && !options.identitiesOnly) {
    methods.push({ type: 'agent', build: async () => ({ type: 'agent', username, agent: options.agentSocket }) });
  }
  for (const identity of options.identityFiles) {
    methods.push({
      type: 'publickey',
      build: async () => {
        const key = await loadKey(identity, options);
        return key ? { type: 'publickey', username, key } : null;
      }
    });
  }
  if (options.agentSocket && options.identitiesOnly) {
    // IdentitiesOnly still lets the agent sign for the listed files; ssh2 cannot filter agent keys,
    // so the agent goes last rather than not at all.
    methods.push({ type: 'agent', build: async () => ({ type: 'agent', username, agent: options.agentSocket }) });
  }
  methods.push({
    type: 'keyboard-interactive',
    build: async () =>
      options.prompter ? { type: 'keyboard-interactive', username, prompt: keyboardPrompt(options) } : null
  });

  let next = 0;
  let lastError: Error | undefined;
  const handler = (
    methodsLeft: AuthenticationType[] | null,
    _partial: boolean | null,
    callback: (next: unknown) => void
  ): void => {
    const pick = async (): Promise<unknown> => {
      while (next < methods.length) {
        const method = methods[next++];
        if (methodsLeft && !methodsLeft.includes(method.type)) continue;
        try {
          const built = await method.build();
          if (built) return built;
        } catch (err) {
          lastError = err as Error;
          return false;
        }
      }
      return false;
    };
    pick().then(callback, () => callback(false));
  };
  // lastError: what stopped authentication before the server could say no (bad key file…).
  return { handler: handler as unknown as AuthHandlerMiddleware, lastError: () => lastError };
}

async function loadKey(identity: IdentityFile, options: AuthOptions): Promise<ParsedKey | null> {
  let data: Buffer;
  try {
    data = await fs.readFile(identity.path);
  } catch (err) {
    if (!identity.explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new TransportError(
      'config',
      `cannot read identity file ${identity.path}: ${(err as Error).message}`,
      options.cluster
    );
  }
  let parsed = utils.parseKey(data);
  if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
    if (!options.prompter) {
      throw new TransportError(
        'auth',
        `${identity.path} needs a passphrase and nobody is here to type it: load it into ssh-agent`,
        options.cluster
      );
    }
    const [passphrase] = await options.prompter({
      cluster: options.cluster,
      kind: 'passphrase',
      name: `Passphrase for ${identity.path}`,
      instructions: `Unlock ${identity.path} to log in to ${options.label}.`,
      prompts: [{ prompt: 'Passphrase: ', echo: false }]
    });
    parsed = utils.parseKey(data, passphrase ?? '');
  }
  if (parsed instanceof Error) {
    throw new TransportError('config', `cannot use identity file ${identity.path}: ${parsed.message}`, options.cluster);
  }
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function keyboardPrompt(options: AuthOptions) {
  return (
    name: string,
    instructions: string,
    _lang: string,
    prompts: Prompt[],
    finish: KeyboardInteractiveCallback
  ): void => {
    // Servers sometimes send an empty round to finish the exchange: answer it without asking.
    if (prompts.length === 0) {
      finish([]);
      return;
    }
    options.prompter!({
      cluster: options.cluster,
      kind: 'keyboard-interactive',
      name: name || `Login to ${options.label}`,
      instructions,
      prompts: prompts.map(p => ({ prompt: p.prompt, echo: Boolean(p.echo) }))
    }).then(
      answers => finish(answers),
      () => finish([])
    );
  };
}
