import { TransportError } from '../errors';

/**
 * ProxyCommand as ~/.ssh/config gives it: which of ProxyJump/ProxyCommand applies to a host, the
 * `ssh -W` form read as a jump, and token expansion with every expanded value checked, because
 * the result is handed to a shell. Pure: runs nothing (proxy-process.ts runs the command).
 */

/** A ProxyCommand to run for one hop: `command` is expanded, `written` is as in ~/.ssh/config. */
export interface ProxyCommandSpec {
  command: string;
  written: string;
}

/** The config text with the ProxyJump/ProxyCommand lines tagged, and each ProxyCommand kept verbatim. */
export interface TaggedSshConfig {
  text: string;
  commands: string[];
}

/** What decides how a host is reached: a ProxyJump spec or a ProxyCommand as written (one at most). */
export interface ProxySetting {
  jump?: string;
  command?: string;
}

// A synthetic directive: ssh-config's first-value-wins then tells us which of the two came first.
const ORDER_KEY = 'HpclabProxyOrder';
const DIRECTIVE = /^(\s*)(ProxyCommand|ProxyJump)(?:\s*=\s*|\s+)(.*?)\s*$/i;

/**
 * OpenSSH keeps whichever of ProxyJump and ProxyCommand it obtains first, except that
 * `ProxyJump none` does not hide a later ProxyCommand (checked with `ssh -G`, OpenSSH 9.2), while
 * `ProxyCommand none` hides a later ProxyJump. ssh-config computes each key on its own, so a
 * marker line goes before every ProxyJump and replaces every ProxyCommand. The ProxyCommand is
 * kept as OpenSSH keeps it, the rest of the line verbatim (quotes, `#` and runs of spaces
 * included): ssh-config would re-tokenize it, and it cannot parse every shell quoting.
 */
export function tagProxyDirectives(text: string): TaggedSshConfig {
  const commands: string[] = [];
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = DIRECTIVE.exec(line);
    if (!m) {
      out.push(line);
    } else if (m[2].toLowerCase() === 'proxycommand') {
      out.push(`${m[1]}${ORDER_KEY} C${commands.length}`);
      commands.push(m[3]);
    } else {
      if (!/^"?none"?(\s+#.*)?$/i.test(m[3])) out.push(`${m[1]}${ORDER_KEY} J`);
      out.push(line);
    }
  }
  return { text: out.join('\n'), commands };
}

/** Which setting wins for a host, from `compute`'s result (keys lower-cased) on a tagged config. */
export function proxySetting(cfg: Record<string, string | string[]>, commands: readonly string[]): ProxySetting {
  const order = firstOf(cfg[ORDER_KEY.toLowerCase()]);
  const jump = firstOf(cfg.proxyjump);
  if (order?.startsWith('C')) return { command: commands[Number(order.slice(1))] };
  return jump === undefined ? {} : { jump };
}

const firstOf = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * `ssh -W %h:%p gw` is exactly what OpenSSH runs for `ProxyJump gw`, so it is made as a jump
 * with hpclab's own client instead of a second ssh process. Kept on purpose, not for speed:
 * the gateway's passphrase and 2FA prompts then reach hpclab's prompter (the browser), where a
 * child ssh started by a companion without a terminal could not ask them; its host key gets
 * hpclab's strict check and messages; and configs that worked before keep working the same way.
 * Only the plain form is converted (`ssh` or an absolute path to it; -q -T -x -a -C -l -p -J;
 * plain words); anything else (-F, -o, -i, shell syntax…) returns undefined: run the command.
 */
export function proxyCommandAsJump(command: string): string | undefined {
  const words = command
    .trim()
    .split(/\s+/)
    .map(w => w.replace(/^"(.*)"$/, '$1'));
  if (words[0] === 'exec') words.shift();
  if (!/^(ssh|\/([\w.-]+\/)*bin\/ssh)$/.test(words.shift() ?? '')) return undefined;
  // Plain words only: a %-token anywhere but in -W, or any shell syntax, and the command is run.
  const plain = /^[\w.@:[\],-]+$/;
  const value = () => (plain.test(words[0] ?? '') ? words.shift() : undefined);
  let forward = false;
  const o: { host?: string; user?: string; port?: string; via?: string } = {};
  while (words.length) {
    const w = words.shift()!;
    if (w === '-W' && /^(%h|\[%h\]):%p$/.test(words[0] ?? '')) forward = !!words.shift();
    else if (w === '-l' && (o.user = value()) !== undefined) continue;
    else if (w === '-p' && /^\d+$/.test(words[0] ?? '')) o.port = words.shift();
    else if (w === '-J' && (o.via = value()) !== undefined) continue;
    else if (/^-[qTxaC]+$/.test(w)) continue;
    else if (!w.startsWith('-') && o.host === undefined && plain.test(w)) o.host = w;
    else return undefined;
  }
  if (!forward || !o.host) return undefined;
  // As in ssh, -l wins over a user@ in the destination.
  const destination = o.user ? `${o.user}@${o.host.slice(o.host.lastIndexOf('@') + 1)}` : o.host;
  const hop = `${destination}${o.port ? `:${o.port}` : ''}`;
  return o.via ? `${o.via},${hop}` : hop;
}

/** The values ProxyCommand's tokens stand for, and the ~/.ssh/config field each came from. */
export interface ProxyTokenValues {
  /** %h: the HostName. */
  hostName: string;
  /** %p */
  port: number;
  /** %r: the remote user. */
  user: string;
  /** %n: the alias as typed. */
  alias: string;
}

// Values spliced into a shell string must be inert there: no spaces, quotes, `;`, `$`, `|`, `/`…
// A leading `-` is refused too, or `nc %h %p` could be handed an option instead of a host.
const PLAIN_HOST = /^[A-Za-z0-9._:][A-Za-z0-9._:-]*$/;
const PLAIN_USER = /^[A-Za-z0-9._][A-Za-z0-9._@-]*$/;

/**
 * Expands ProxyCommand's tokens as OpenSSH does (`%h %p %r %n %%`; any other is an error, as in
 * ssh). Each value used must be a plain host name, user or port, checked before anything runs:
 * the values come from config files and the command goes to `$SHELL -c`.
 */
export function expandProxyCommand(written: string, values: ProxyTokenValues): ProxyCommandSpec {
  const where = `ProxyCommand for ${values.alias} ("${written}")`;
  const checked = (value: string, pattern: RegExp, field: string, token: string, what: string) => {
    if (pattern.test(value)) return value;
    const extra = what === 'host name' ? ' and ":"' : ' and "@"';
    throw configError(
      `${where}: ${field} "${value}" (${token}) is not a plain ${what}; hpclab will not put it ` +
        `in a shell command. Use letters, digits, ".", "-", "_"${extra} only, not starting with "-".`
    );
  };
  const command = written.replace(/%(.?)/g, (whole, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'h':
        return checked(values.hostName, PLAIN_HOST, 'HostName', '%h', 'host name');
      case 'n':
        return checked(values.alias, PLAIN_HOST, 'the host alias', '%n', 'host name');
      case 'r':
        return checked(values.user, PLAIN_USER, 'User', '%r', 'user name');
      case 'p':
        return String(values.port); // already checked to be 1-65535
      default:
        throw configError(
          `${where}: ${whole === '%' ? 'a lone % at the end' : `the token ${whole}`} is not ` +
            'one ssh expands in ProxyCommand (use %h %p %r %n, or %% for a literal %)'
        );
    }
  });
  return { command, written };
}

/** `none`, in any letter case, means no ProxyCommand or ProxyJump, as in ssh. */
export const isNone = (value: string): boolean => value.trim().toLowerCase() === 'none';

const configError = (message: string) => new TransportError('config', message);
