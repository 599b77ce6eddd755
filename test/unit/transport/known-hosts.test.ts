import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkHostKey,
  fingerprintOf,
  hostKeyAlgorithmsFor,
  hostKeyErrorMessage,
  keyTypeOf,
  knownKeyTypes,
  parseKnownHosts
} from '../../../server/transport/ssh/known-hosts';

let dir: string;
const keys: Record<string, { line: string; blob: Buffer }> = {};

/** Real keys from the real ssh-keygen, so blobs and hashes are OpenSSH's, not ours. */
function makeKey(name: string, type: string): void {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-C',
    name,
    '-f',
    file
  ]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  keys[name] = { line, blob: Buffer.from(line.split(' ')[1], 'base64') };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hpclab-kh-'));
  makeKey('ed1', 'ed25519');
  makeKey('ed2', 'ed25519');
  makeKey('rsa', 'rsa');
  makeKey('ecdsa', 'ecdsa');
  makeKey('bad', 'ed25519');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plainText = () =>
  [
    '# comment, then a blank line',
    '',
    `login.example.org,10.0.0.5 ${keys.ed1.line}`,
    `[login.example.org]:2222 ${keys.ed2.line}`,
    `*.cluster.org,!evil.cluster.org ${keys.rsa.line}`,
    `  node?? ${keys.ecdsa.line}`,
    `@revoked * ${keys.bad.line}`,
    `@cert-authority *.example.org ${keys.ed2.line}`,
    `@bogus-marker login.example.org ${keys.ed2.line}`,
    'login.example.org 1024 35 12345678901234567890',
    'broken line'
  ].join('\n');

describe('checkHostKey', () => {
  it('parses plain lines, skipping comments, SSH-1 and junk', () => {
    const entries = parseKnownHosts(plainText(), '/kh');
    expect(entries.map(e => [e.line, e.marker, e.keyType])).toEqual([
      [3, undefined, 'ssh-ed25519'],
      [4, undefined, 'ssh-ed25519'],
      [5, undefined, 'ssh-rsa'],
      [6, undefined, 'ecdsa-sha2-nistp256'],
      [7, 'revoked', 'ssh-ed25519'],
      [8, 'cert-authority', 'ssh-ed25519']
    ]);
    expect(entries[0].file).toBe('/kh');
  });

  it('matches host lists, ports, wildcards and negation', () => {
    const text = plainText();
    expect(checkHostKey(text, 'login.example.org', 22, keys.ed1.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, '10.0.0.5', 22, keys.ed1.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'LOGIN.example.ORG', 22, keys.ed1.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'login.example.org', 2222, keys.ed2.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'login.example.org', 2200, keys.ed1.blob)).toEqual({ status: 'unknown' });
    expect(checkHostKey(text, 'gpu1.cluster.org', 22, keys.rsa.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'evil.cluster.org', 22, keys.rsa.blob)).toEqual({ status: 'unknown' });
    expect(checkHostKey(text, 'node12', 22, keys.ecdsa.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'node1', 22, keys.ecdsa.blob)).toEqual({ status: 'unknown' });
  });

  it('reports a changed key with the line that holds the old one', () => {
    const entries = parseKnownHosts(plainText(), '/kh');
    expect(checkHostKey(entries, 'login.example.org', 22, keys.ed2.blob)).toEqual({
      status: 'mismatch',
      expectedTypes: ['ssh-ed25519'],
      line: 3,
      file: '/kh'
    });
    expect(checkHostKey(entries, 'login.example.org', 2222, keys.ed1.blob)).toMatchObject({
      status: 'mismatch',
      line: 4
    });
    // Only other key types on record: still not this key, so still refused.
    expect(checkHostKey(entries, 'gpu1.cluster.org', 22, keys.ed1.blob)).toMatchObject({
      status: 'mismatch',
      expectedTypes: ['ssh-rsa'],
      line: 5
    });
  });

  it('refuses revoked keys and ignores @cert-authority and unknown markers', () => {
    expect(checkHostKey(plainText(), 'anything', 22, keys.bad.blob)).toEqual({
      status: 'revoked',
      line: 7,
      file: undefined
    });
    expect(checkHostKey(plainText(), 'www.example.org', 22, keys.ed2.blob)).toEqual({ status: 'unknown' });
  });

  it('matches entries hashed by ssh-keygen -H', () => {
    const file = path.join(dir, 'known_hosts_hashed');
    writeFileSync(file, `hashed.example.org ${keys.ed1.line}\n[hashed.example.org]:2200 ${keys.ed2.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('hashed.example.org');
    expect(text.split('\n').filter(l => l.startsWith('|1|'))).toHaveLength(2);
    expect(checkHostKey(text, 'hashed.example.org', 22, keys.ed1.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'hashed.example.org', 2200, keys.ed2.blob)).toEqual({ status: 'match' });
    expect(checkHostKey(text, 'hashed.example.org', 2200, keys.ed1.blob)).toMatchObject({
      status: 'mismatch',
      line: 2
    });
    expect(checkHostKey(text, 'other.example.org', 22, keys.ed1.blob)).toEqual({ status: 'unknown' });
  });
});

describe('key types and algorithms', () => {
  it('lists the known types for a host', () => {
    const text = `${plainText()}\nlogin.example.org ${keys.rsa.line}\nlogin.example.org ${keys.ed2.line}`;
    expect(knownKeyTypes(text, 'login.example.org', 22)).toEqual(['ssh-ed25519', 'ssh-rsa']);
    expect(knownKeyTypes(text, 'nowhere', 22)).toEqual([]);
  });

  it('maps types to ssh2 algorithm names, dropping ones ssh2 lacks', () => {
    expect(
      hostKeyAlgorithmsFor(['ssh-rsa', 'ecdsa-sha2-nistp384', 'ssh-ed25519', 'sk-ssh-ed25519@openssh.com', 'ssh-rsa'])
    ).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp384', 'ssh-ed25519']);
  });

  it('reads the type from the blob and prints fingerprints like ssh-keygen -l', () => {
    expect(keyTypeOf(keys.rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe('');
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'ed1.pub')], {
      encoding: 'utf8'
    });
    expect(printed.split(' ')[1]).toBe(fingerprintOf(keys.ed1.blob));
  });
});

describe('hostKeyErrorMessage', () => {
  it('explains a changed key and gives a working ssh-keygen -R', () => {
    const file = path.join(dir, 'known_hosts_changed');
    // ssh-keygen -R refuses to rewrite a file with lines it cannot read: only valid ones here.
    writeFileSync(file, plainText().split('\n').slice(0, 8).join('\n') + '\n');
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    const check = checkHostKey(entries, 'login.example.org', 2222, keys.ed1.blob);
    if (check.status === 'match') throw new Error('expected a mismatch');
    const message = hostKeyErrorMessage(check, {
      host: 'login.example.org',
      port: 2222,
      key: keys.ed1.blob,
      knownHostsFiles: [file]
    });
    expect(message).toMatch(/CHANGED/);
    expect(message).toContain(`${file} line 4`);
    expect(message).toContain(fingerprintOf(keys.ed1.blob));
    expect(message).toMatch(/admins/);
    expect(message).not.toMatch(/yes\/no|accept\?/i);
    // The command we print must really remove the old entry.
    const command = message
      .split('\n')
      .find(l => l.trim().startsWith('ssh-keygen -R'))!
      .trim();
    expect(command).toBe(`ssh-keygen -R '[login.example.org]:2222' -f ${file}`);
    execFileSync('sh', ['-c', command], { stdio: 'ignore' });
    expect(checkHostKey(readFileSync(file, 'utf8'), 'login.example.org', 2222, keys.ed1.blob)).toEqual({
      status: 'unknown'
    });
  });

  it('tells how to add an unknown host, and never offers to accept', () => {
    const message = hostKeyErrorMessage(
      { status: 'unknown' },
      { host: 'new.example.org', port: 2200, key: keys.ed2.blob, knownHostsFiles: ['/home/me/.ssh/known_hosts'] }
    );
    expect(message).toContain('ssh-keyscan -p 2200 new.example.org >> /home/me/.ssh/known_hosts');
    expect(message).toContain(fingerprintOf(keys.ed2.blob));
    expect(message).toMatch(/ssh -p 2200 new\.example\.org/);
    expect(message).toMatch(/never offers to accept/);
  });

  it('names the line of a revoked key', () => {
    const message = hostKeyErrorMessage(
      { status: 'revoked', line: 7, file: '/kh' },
      { host: 'h', port: 22, key: keys.bad.blob, knownHostsFiles: ['/kh'] }
    );
    expect(message).toMatch(/@revoked in \/kh line 7/);
  });
});
