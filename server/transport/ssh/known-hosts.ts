import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { renderRemoteCommand } from '../quote';

/**
 * OpenSSH known_hosts, read-only: hpclab checks host keys strictly and never writes or
 * accepts a key itself, so adding or replacing one is always the user's deliberate act.
 */

/** One key line of a known_hosts file. */
export interface KnownHostsEntry {
  file?: string;
  /** 1-based, for messages that send the user to the line. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** `|1|salt|hash` when hashed, else the comma-separated patterns as written. */
  hosts: { salt: Buffer; hash: Buffer } | { patterns: string[] };
  /** Read from the key blob itself (the type field of the line can lie). */
  keyType: string;
  key: Buffer;
}

export type HostKeyCheck =
  | { status: 'match' }
  | { status: 'mismatch'; expectedTypes: string[]; line: number; file?: string }
  | { status: 'unknown' }
  | { status: 'revoked'; line: number; file?: string };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses known_hosts text; lines it cannot read are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file?: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) return;
    let marker: KnownHostsEntry['marker'];
    if (fields[0].startsWith('@')) {
      if (fields[0] === '@revoked') marker = 'revoked';
      else if (fields[0] === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: OpenSSH skips the line
      fields.shift();
    }
    const [hostField, typeField, keyField] = fields;
    // Old SSH-1 lines (`host bits exponent modulus`) have a number where the type goes.
    if (!hostField || !typeField || !keyField || /^\d+$/.test(typeField) || !BASE64.test(keyField)) return;
    const hosts = parseHostField(hostField);
    if (!hosts) return;
    const key = Buffer.from(keyField, 'base64');
    entries.push({ file, line: index + 1, marker, hosts, keyType: keyTypeOf(key) || typeField, key });
  });
  return entries;
}

function parseHostField(field: string): KnownHostsEntry['hosts'] | undefined {
  if (!field.startsWith('|')) return { patterns: field.split(',').filter(p => p !== '') };
  // Hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, name)); the whole field is one name.
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !BASE64.test(parts[2]) || !BASE64.test(parts[3])) return undefined;
  const salt = Buffer.from(parts[2], 'base64');
  const hash = Buffer.from(parts[3], 'base64');
  return salt.length === 20 && hash.length === 20 ? { salt, hash } : undefined;
}

/** The name OpenSSH looks up: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** `*` any run, `?` exactly one character, everything else literal (ssh PATTERNS). */
function wildcard(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, c => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`, 'is');
}

function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  if ('salt' in entry.hosts) {
    const mac = createHmac('sha1', entry.hosts.salt).update(name).digest();
    return timingSafeEqual(mac, entry.hosts.hash);
  }
  // A matching negated pattern vetoes the line even if another pattern matches.
  let positive = false;
  for (const p of entry.hosts.patterns) {
    const negated = p.startsWith('!');
    if (wildcard(negated ? p.slice(1) : p).test(name)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

function toEntries(entriesOrText: readonly KnownHostsEntry[] | string): readonly KnownHostsEntry[] {
  return typeof entriesOrText === 'string' ? parseKnownHosts(entriesOrText) : entriesOrText;
}

function entriesFor(entriesOrText: readonly KnownHostsEntry[] | string, host: string, port: number): KnownHostsEntry[] {
  const name = knownHostsName(host, port);
  return toEntries(entriesOrText).filter(e => entryMatches(e, name));
}

/**
 * Compares the key the server presented (ssh2's `hostVerifier` gets the raw blob) with what
 * known_hosts holds for this host and port. A host with keys on record but none equal to
 * this one is a mismatch, even if only other key types are on record: hpclab prefers the
 * known types (hostKeyAlgorithmsFor), so a server offering none of them has changed.
 */
export function checkHostKey(
  entriesOrText: readonly KnownHostsEntry[] | string,
  host: string,
  port: number,
  keyBlob: Buffer
): HostKeyCheck {
  const found = entriesFor(entriesOrText, host, port);
  const revoked = found.find(e => e.marker === 'revoked' && e.key.equals(keyBlob));
  if (revoked) return { status: 'revoked', line: revoked.line, file: revoked.file };
  // @cert-authority lines hold CA keys, which ssh2 cannot check certificates against: ignored.
  const plain = found.filter(e => e.marker === undefined);
  if (plain.some(e => e.key.equals(keyBlob))) return { status: 'match' };
  if (plain.length === 0) return { status: 'unknown' };
  const presentedType = keyTypeOf(keyBlob);
  const old = plain.find(e => e.keyType === presentedType) ?? plain[0];
  return { status: 'mismatch', expectedTypes: distinct(plain.map(e => e.keyType)), line: old.line, file: old.file };
}

/** Key types on record for this host, in file order, so the connection can ask for them first. */
export function knownKeyTypes(
  entriesOrText: readonly KnownHostsEntry[] | string,
  host: string,
  port: number
): string[] {
  return distinct(
    entriesFor(entriesOrText, host, port)
      .filter(e => e.marker === undefined)
      .map(e => e.keyType)
  );
}

/** ssh2 host key algorithm names for key types (an RSA key can be signed three ways). */
const ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-dss': ['ssh-dss']
};

/** Algorithms to prefer for these key types, in order; types ssh2 cannot verify are left out. */
export function hostKeyAlgorithmsFor(types: readonly string[]): string[] {
  return distinct(types.flatMap(t => ALGORITHMS[t] ?? []));
}

/** The type string at the start of an SSH key blob (`ssh-ed25519`…), or '' if unreadable. */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return '';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:…` as `ssh-keygen -l` and OpenSSH's prompts print it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface HostKeyMessageContext {
  host: string;
  port: number;
  /** The key blob the server presented. */
  key: Buffer;
  /** Where hpclab looked, first one is where a new key should go. */
  knownHostsFiles: readonly string[];
}

/** What to tell the user when the check did not match; never an offer to accept the key. */
export function hostKeyErrorMessage(
  check: Exclude<HostKeyCheck, { status: 'match' }>,
  ctx: HostKeyMessageContext
): string {
  const who = ctx.port === 22 ? ctx.host : `${ctx.host} (port ${ctx.port})`;
  const presented = `${keyTypeOf(ctx.key) || 'unknown-type'} key ${fingerprintOf(ctx.key)}`;
  const where = (file: string | undefined, line: number) =>
    file ? `${file} line ${line}` : `known_hosts line ${line}`;
  const target = ctx.knownHostsFiles[0];
  const keyscan = `${renderRemoteCommand(['ssh-keyscan', '-p', String(ctx.port), ctx.host])} >> ${target ? renderRemoteCommand([target]) : '~/.ssh/known_hosts'}`;
  switch (check.status) {
    case 'mismatch':
      return [
        `The SSH host key of ${who} has CHANGED: the server presented the ${presented}, ` +
          `but ${where(check.file, check.line)} records a different key (known types: ${check.expectedTypes.join(', ')}).`,
        "Someone may be intercepting the connection, or the cluster's admins replaced the host keys (reinstall, upgrade).",
        `Check with the admins or their announcements that ${fingerprintOf(ctx.key)} is the cluster's new key. Only then remove the old entry:`,
        `  ${renderRemoteCommand(['ssh-keygen', '-R', knownHostsName(ctx.host, ctx.port), ...(check.file ? ['-f', check.file] : [])])}`,
        `and add the new one (connect once with OpenSSH, or ${keyscan}). hpclab will not connect until then.`
      ].join('\n');
    case 'revoked':
      return `The SSH host key of ${who} (${presented}) is marked @revoked in ${where(check.file, check.line)}; hpclab refuses it. Ask the cluster's admins which key is current.`;
    case 'unknown':
      return [
        `${who} is not in known_hosts (looked in: ${ctx.knownHostsFiles.length ? ctx.knownHostsFiles.join(', ') : 'no known_hosts file exists, or UserKnownHostsFile is none'}). ` +
          'hpclab checks host keys strictly and never offers to accept one.',
        `The server presented the ${presented}. Compare that fingerprint with the one your cluster publishes (documentation or admins), then add the key:`,
        `  ${keyscan}`,
        `or connect once with OpenSSH (${renderRemoteCommand(['ssh', '-p', String(ctx.port), ctx.host])}) and answer its prompt after comparing the fingerprint.`
      ].join('\n');
  }
}

function distinct(items: string[]): string[] {
  return [...new Set(items)];
}
