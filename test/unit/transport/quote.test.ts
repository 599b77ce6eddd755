import { execFileSync } from 'node:child_process';
import { renderRemoteCommand } from '../../../server/transport/quote';

/** Runs the rendered words through a real /bin/sh and returns what printf received. */
function throughShell(words: readonly string[]): string[] {
  const out = execFileSync('sh', ['-c', 'printf "%s\\0" ' + renderRemoteCommand(words)], { cwd: '/' });
  const parts = out.toString('utf8').split('\0');
  parts.pop(); // after the last NUL
  return parts;
}

/** Tiny seeded PRNG (mulberry32) so a failing case can be reproduced. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '$(touch x)',
  '`touch x`',
  '${HOME}',
  '$HOME',
  "'",
  '"',
  '\\',
  "'\\''",
  '\n',
  '\r\n',
  '\t',
  ' ',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '!',
  '!!',
  '#',
  ';',
  '&',
  '|',
  '&&',
  '>',
  '<',
  '(',
  ')',
  '{',
  '}',
  '=',
  '%',
  '-n',
  '--',
  '-e',
  'A=b',
  'é',
  '日本',
  '🚀',
  '\u00a0',
  '\u2028',
  '\x7f',
  '\x01',
  ''
];

describe('renderRemoteCommand', () => {
  it('leaves plain words bare and quotes the rest', () => {
    expect(renderRemoteCommand(['squeue', '--me', '-o', '%i|%T', '--name=hpclab-1'])).toBe(
      "squeue --me -o '%i|%T' --name=hpclab-1"
    );
    expect(renderRemoteCommand(['cat', '/home/u/a b'])).toBe("cat '/home/u/a b'");
    expect(renderRemoteCommand(['echo', "it's"])).toBe("echo 'it'\\''s'");
    expect(renderRemoteCommand(['echo', ''])).toBe("echo ''");
    expect(renderRemoteCommand(['ls', '~/x', '*.py', '=ls'])).toBe("ls '~/x' '*.py' '=ls'");
  });

  it('quotes a first word that the shell would read as syntax', () => {
    expect(renderRemoteCommand(['A=b', 'x'])).toBe("'A=b' x");
    expect(renderRemoteCommand(['time', 'x'])).toBe("'time' x");
    expect(renderRemoteCommand(['if'])).toBe("'if'");
    expect(renderRemoteCommand(['%1'])).toBe("'%1'");
    expect(renderRemoteCommand(['env', 'A=b', 'time'])).toBe('env A=b time');
  });

  it('refuses an empty argv and NUL bytes', () => {
    expect(() => renderRemoteCommand([])).toThrow(TypeError);
    expect(() => renderRemoteCommand(['echo', 'a\0b'])).toThrow(TypeError);
  });

  it('round-trips hand-picked nasty words through sh byte for byte', () => {
    const words = NASTY.map(w => `a${w}b`).concat(NASTY);
    expect(throughShell(words)).toEqual(words);
  });

  it('does not run command substitutions', () => {
    // cwd is /, where an unprivileged `touch x` would fail loudly; the words must come back as text.
    expect(throughShell(['$(touch /nonexistent-dir/x)', '`false`'])).toEqual([
      '$(touch /nonexistent-dir/x)',
      '`false`'
    ]);
  });

  it('round-trips random strings through sh byte for byte', () => {
    const rand = prng(20240611);
    const alphabet = [...'abcXYZ019 _-./,:=@%+~*?[]{}()<>|&;!#$`\'"\\\n\t\r'].concat([
      'é',
      '日',
      '🚀',
      '\u2028',
      '\x1b'
    ]);
    for (let round = 0; round < 40; round++) {
      const words: string[] = [];
      const count = 1 + Math.floor(rand() * 8);
      for (let w = 0; w < count; w++) {
        let word = '';
        const len = Math.floor(rand() * 12);
        for (let c = 0; c < len; c++) {
          word +=
            rand() < 0.1
              ? String.fromCodePoint(1 + Math.floor(rand() * 0x2fff))
              : alphabet[Math.floor(rand() * alphabet.length)];
        }
        words.push(word);
      }
      const back = throughShell(words);
      expect(back.map(w => Buffer.from(w, 'utf8').toString('hex'))).toEqual(
        words.map(w => Buffer.from(w, 'utf8').toString('hex'))
      );
    }
  });
});
