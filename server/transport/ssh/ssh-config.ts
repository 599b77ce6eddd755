import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import SSHConfig from 'ssh-config';
import { TransportError } from '../errors';
import {
  expandProxyCommand,
  isNone,
  proxyCommandAsJump,
  proxySetting,
  tagProxyDirectives,
  type ProxyCommandSpec,
  type ProxySetting
} from './proxy-command';

/** What hpclab's own cluster entry says; every value given here wins over ~/.ssh/config. */
export interface SshTargetInput {
  /** A hostname or a ~/.ssh/config alias. */
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  knownHostsFile?: string;
  /** Same syntax as ssh's ProxyJump, including `none`. */
  proxyJump?: string;
}

export interface ResolveOptions {
  /** Contents of ~/.ssh/config (Includes already inlined by readSshConfig), or undefined if none. */
  sshConfigText?: string;
  homeDir: string;
  localUser: string;
}

/** One hop, resolved the way OpenSSH would resolve `ssh <alias>`. */
export interface ResolvedSshTarget {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** True when identityFiles are ssh's defaults: missing ones are skipped, not errors. */
  identityFilesAreDefaults: boolean;
  identitiesOnly: boolean;
  knownHostsFiles: string[];
  serverAliveIntervalSec: number;
  serverAliveCountMax: number;
  connectTimeoutSec: number;
  /** Hosts to pass through first, in connection order; each hop's own `jumps` is empty. */
  jumps: ResolvedSshTarget[];
  /** A command whose stdin/stdout reach this host (ProxyCommand); only ever on the first hop. */
  proxyCommand?: ProxyCommandSpec;
}

// OpenSSH keeps no keepalive by default; we need one, because a silently dead link would
// otherwise hang every command until TCP gives up many minutes later.
const DEFAULT_ALIVE_INTERVAL_SEC = 15;
const DEFAULT_ALIVE_COUNT_MAX = 3;
const DEFAULT_CONNECT_TIMEOUT_SEC = 20;
const MAX_JUMPS = 8;
const MAX_INCLUDE_DEPTH = 16; // OpenSSH's READCONF_MAX_DEPTH

/**
 * Resolves a cluster's SSH target and its ProxyJump chain. Explicit input wins; then
 * ~/.ssh/config (first obtained value wins, as in ssh); then defaults. Pure: reads no files.
 */
export function resolveSshTarget(input: SshTargetInput, options: ResolveOptions): ResolvedSshTarget {
  const target = resolveHop(input, options, []);
  if (target.jumps.length > MAX_JUMPS) {
    throw configError(
      `the ProxyJump chain to ${input.host} has ${target.jumps.length} hops; at most ${MAX_JUMPS} are supported`
    );
  }
  return target;
}

function resolveHop(input: SshTargetInput, options: ResolveOptions, trail: string[]): ResolvedSshTarget {
  const alias = input.host.trim();
  if (alias === '' || /\s/.test(alias)) throw configError(`"${input.host}" is not a host name`);
  const key = `${alias.toLowerCase()}:${input.port ?? ''}`;
  const names = [...trail.map(t => t.replace(/:\d*$/, '')), alias];
  if (trail.includes(key))
    throw configError(
      `ProxyJump loop: ${names.join(' → ')}; check ProxyJump for these hosts in ~/.ssh/config (a jump host that a \`Host *\` ProxyJump also matches needs \`ProxyJump none\` in its own Host block)`
    );
  if (trail.length > MAX_JUMPS)
    throw configError(`the ProxyJump chain ${names.join(' → ')} is longer than ${MAX_JUMPS} hops`);

  const { cfg, proxy } = computeFor(alias, input.user, options.sshConfigText);
  const hostName = expandTokens(first(cfg.hostname) ?? alias, { h: alias, n: alias }, 'HostName');
  const port = input.port ?? parsePort(first(cfg.port), `Port for ${alias}`) ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw configError(`port ${port} for ${alias} is not a TCP port`);
  const user = input.user ?? first(cfg.user) ?? options.localUser;
  const tokens = { d: options.homeDir, u: options.localUser, h: hostName, r: user, p: String(port), n: alias };
  const expand = (p: string, what: string) => expandTilde(expandTokens(p, tokens, what), options.homeDir);

  const fromSsh = (list: string[], what: string) =>
    list.filter(f => f.toLowerCase() !== 'none').map(f => expand(f, what));
  // hpclab's own paths get ~ expanded but no %-tokens: a literal % in them is just a %.
  const identityFiles =
    input.identityFile !== undefined
      ? [expandTilde(input.identityFile, options.homeDir)]
      : fromSsh(all(cfg.identityfile), 'IdentityFile');
  const useDefaults = input.identityFile === undefined && all(cfg.identityfile).length === 0;
  const sshDir = path.join(options.homeDir, '.ssh');
  const knownConfigured = all(cfg.userknownhostsfile);
  const knownHostsFiles =
    input.knownHostsFile !== undefined
      ? [expandTilde(input.knownHostsFile, options.homeDir)]
      : knownConfigured.length
        ? fromSsh(knownConfigured, 'UserKnownHostsFile')
        : [path.join(sshDir, 'known_hosts'), path.join(sshDir, 'known_hosts2')];

  const resolved: ResolvedSshTarget = {
    alias,
    hostName,
    port,
    user,
    identityFiles: useDefaults ? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map(f => path.join(sshDir, f)) : identityFiles,
    identityFilesAreDefaults: useDefaults,
    identitiesOnly: parseYesNo(first(cfg.identitiesonly), 'IdentitiesOnly') ?? false,
    knownHostsFiles,
    serverAliveIntervalSec:
      parseCount(first(cfg.serveraliveinterval), 'ServerAliveInterval') ?? DEFAULT_ALIVE_INTERVAL_SEC,
    serverAliveCountMax: parseCount(first(cfg.serveralivecountmax), 'ServerAliveCountMax') ?? DEFAULT_ALIVE_COUNT_MAX,
    // ConnectTimeout 0 means "wait forever" to ssh; a hung connect must still end, so: default.
    connectTimeoutSec: parseCount(first(cfg.connecttimeout), 'ConnectTimeout') || DEFAULT_CONNECT_TIMEOUT_SEC,
    jumps: []
  };

  // hpclab's own proxyJump wins over ~/.ssh/config, as ssh's -J does.
  const setting: ProxySetting = input.proxyJump !== undefined ? { jump: input.proxyJump } : proxy;
  let jumpSpec = setting.jump;
  if (setting.command !== undefined && !isNone(setting.command)) {
    jumpSpec = proxyCommandAsJump(setting.command);
    if (jumpSpec === undefined) {
      // With ProxyUseFdpass the command hands back a socket over a unix socket; we read a pipe.
      if (parseYesNo(first(cfg.proxyusefdpass), 'ProxyUseFdpass')) {
        throw configError(
          `ProxyUseFdpass for ${alias} is not supported; remove it, and the connection ` +
            `is relayed through ProxyCommand's stdin/stdout`
        );
      }
      resolved.proxyCommand = expandProxyCommand(setting.command, { hostName, port, user, alias });
      return resolved;
    }
  }
  if (jumpSpec === undefined || isNone(jumpSpec)) return resolved;
  const hops = jumpSpec.split(',').map(h => parseJumpHop(h, jumpSpec));
  // As in ssh: `ProxyJump a,b` runs `ssh -J a -W %h:%p b`, so b is reached through a (its own
  // ProxyJump is overridden) while a alone uses its own ProxyJump from ~/.ssh/config.
  const last = hops[hops.length - 1];
  const before = hops
    .slice(0, -1)
    .map(h => h.spec)
    .join(',');
  const via = resolveHop(
    { host: last.host, user: last.user, port: last.port, proxyJump: before || undefined },
    options,
    [...trail, key]
  );
  resolved.jumps = [...via.jumps, { ...via, jumps: [] }];
  return resolved;
}

/**
 * ~/.ssh/config values for one alias. ssh-config's compute gives first-value-wins, Match and
 * repeated IdentityFile; Host lines we decide ourselves because its glob lets `?` match zero
 * characters. Match exec and CanonicalizeHostName are not run: they would spawn processes.
 */
function computeFor(
  alias: string,
  user: string | undefined,
  text: string | undefined
): { cfg: Record<string, string | string[]>; proxy: ProxySetting } {
  if (!text) return { cfg: {}, proxy: {} };
  const tagged = tagProxyDirectives(text);
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(tagged.text);
  } catch (err) {
    throw configError(`cannot parse ~/.ssh/config: ${(err as Error).message}`, err);
  }
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE || !('config' in line) || !/^host$/i.test(line.param)) continue;
    const patterns = typeof line.value === 'string' ? [line.value] : line.value.map(v => v.val);
    line.value = hostMatches(patterns, alias) ? '*' : '!*';
    line.config = line.config.filter(l => !('param' in l && /^canonicalizehostname$/i.test(l.param))) as SSHConfig;
  }
  const cfg = config.compute({ Host: alias, User: user }, { ignoreCase: true, matchExec: false });
  return { cfg, proxy: proxySetting(cfg, tagged.commands) };
}

/** `*` any run, `?` exactly one character, the rest literal: ssh's PATTERNS and glob(3) alike. */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\*?]/g, c => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`))}$`,
    's'
  );
}

/** A Host line's patterns: a matching `!pattern` vetoes the line; case-sensitive, as in ssh. */
function hostMatches(patterns: readonly string[], name: string): boolean {
  const hits = patterns.filter(p => wildcard(p.replace(/^!/, '')).test(name));
  return hits.length > 0 && !hits.some(p => p.startsWith('!'));
}

interface JumpHop {
  spec: string;
  host: string;
  user?: string;
  port?: number;
}

/** One ProxyJump hop: `[user@]host[:port]` or `ssh://[user@]host[:port]`, IPv6 in brackets. */
function parseJumpHop(raw: string, whole = raw): JumpHop {
  const spec = raw.trim();
  const bad = (why: string) => configError(`ProxyJump "${whole}": hop "${spec}" ${why}`);
  let rest = spec;
  const uri = /^ssh:\/\//i.test(rest);
  if (uri) rest = rest.slice(6).replace(/\/$/, '');
  const at = rest.lastIndexOf('@');
  let user = at >= 0 ? rest.slice(0, at) : undefined;
  if (user !== undefined && uri) {
    try {
      user = decodeURIComponent(user);
    } catch {
      throw bad('has a badly %-encoded user name');
    }
  }
  rest = at >= 0 ? rest.slice(at + 1) : rest;
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) [, host, portText] = bracketed;
  else if (rest.split(':').length === 2) [host, portText] = rest.split(':');
  if (host === '' || /[\s/@]/.test(host)) throw bad('has no usable host name');
  if (user === '') throw bad('has an empty user name');
  const port = portText === undefined ? undefined : parsePort(portText, `port in ProxyJump hop "${spec}"`);
  return { spec, host, user, port };
}

/** OpenSSH %-tokens; the ones that need the network or the local host name are refused. */
function expandTokens(value: string, tokens: Record<string, string>, what: string): string {
  return value.replace(/%(.?)/g, (whole, c: string) => {
    if (c === '%') return '%';
    if (c in tokens) return tokens[c];
    throw configError(
      `${what} "${value}": ${whole} is not supported here (use ${Object.keys(tokens)
        .map(k => `%${k}`)
        .join(' ')} or %%)`
    );
  });
}

function expandTilde(p: string, homeDir: string): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/')) return path.join(homeDir, p.slice(2));
  if (p.startsWith('~')) throw configError(`"${p}": ~user paths are not supported; write the full path`);
  return p;
}

type Value = string | string[] | undefined;
const first = (v: Value): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: Value): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function parsePort(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw configError(`${what} is "${text}", not a TCP port`);
  return n;
}

function parseCount(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw configError(`${what} in ~/.ssh/config is "${text}", not a whole number`);
  return Number(text);
}

function parseYesNo(text: string | undefined, what: string): boolean | undefined {
  if (text === undefined) return undefined;
  if (/^(yes|true)$/i.test(text)) return true;
  if (/^(no|false)$/i.test(text)) return false;
  throw configError(`${what} in ~/.ssh/config is "${text}", not yes or no`);
}

const configError = (message: string, cause?: unknown) =>
  new TransportError('config', message, undefined, cause === undefined ? undefined : { cause });

/**
 * Reads ~/.ssh/config with its Includes inlined (ssh-config leaves Include alone). Relative
 * paths are under ~/.ssh, `*`/`?` globs expand in sorted order, missing files are skipped, as
 * in ssh. After an Include the enclosing Host/Match line is repeated so what follows stays in
 * its section. Simplification: Host blocks inside a file included from within a Host block
 * apply without the outer condition. Returns undefined when there is no ~/.ssh/config.
 */
export async function readSshConfig(homeDir: string): Promise<string | undefined> {
  const sshDir = path.join(homeDir, '.ssh');
  const main = await readIfExists(path.join(sshDir, 'config'));
  if (main === undefined) return undefined;

  // `section`: the Host/Match line in force, inherited by an included file's first lines.
  const inline = async (text: string, depth: number, inherited?: string): Promise<string> => {
    if (depth > MAX_INCLUDE_DEPTH)
      throw configError(
        `~/.ssh/config: Include nested more than ${MAX_INCLUDE_DEPTH} deep (does a file include itself?)`
      );
    const out: string[] = [];
    let section = inherited;
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*(\w+)(?:\s*=\s*|\s+)(.*)$/.exec(line);
      const keyword = m?.[1].toLowerCase();
      if (keyword === 'host' || keyword === 'match') section = line;
      if (keyword !== 'include') {
        out.push(line);
        continue;
      }
      let included = false;
      for (const pattern of splitWords(m![2])) {
        for (const file of await globFiles(expandTilde(pattern, homeDir), sshDir)) {
          const body = await readIfExists(file);
          if (body === undefined) continue;
          out.push(`# Include ${file}`, await inline(body, depth + 1, section));
          included = true;
        }
      }
      if (included) out.push(section ?? 'Host *');
    }
    return out.join('\n');
  };
  return inline(main, 1);
}

/** Include arguments: whitespace-separated, "double quotes" allowed, `#` starts a comment. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(#.*)|(\S+)/g)) {
    if (m[2] !== undefined) break;
    words.push(m[1] ?? m[3]);
  }
  return words;
}

/** glob(3)-like: `*`/`?` in any path component, no hidden files unless the pattern says `.`. */
async function globFiles(pattern: string, base: string): Promise<string[]> {
  const absolute = path.resolve(base, pattern);
  const { root } = path.parse(absolute);
  let found = [root];
  for (const part of absolute.slice(root.length).split(path.sep).filter(Boolean)) {
    if (!/[*?]/.test(part)) {
      found = found.map(dir => path.join(dir, part));
      continue;
    }
    const re = wildcard(part);
    const next: string[] = [];
    for (const dir of found) {
      const names = await fs.readdir(dir).catch(() => [] as string[]); // as OpenSSH's glob: a directory that cannot be read matches nothing
      for (const name of names.sort())
        if (re.test(name) && (part.startsWith('.') || !name.startsWith('.'))) next.push(path.join(dir, name));
    }
    found = next;
  }
  return found;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw configError(`cannot read ${file}: ${(err as Error).message}`, err);
  }
}
