import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * CONTRIBUTING.md, "No silent catch": an error is handled, passed on, or dropped for a reason
 * written next to it. This reads every .ts file under server/ (the companion and the CLI) and
 * src/ (the frontend) and fails, naming file:line, for an error dropped without a word:
 * `.catch(() => undefined)`, `.catch(() => null)`, `.catch(() => {})`, or an empty `catch {}` /
 * `catch (e) {}` block, unless the same line or the line above has a `//` comment saying why
 * nothing is lost.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const COVERED = ['server', 'src'];

/**
 * Sites outside the files this guard came with, each with why it may stay for now. An entry
 * whose site got its comment (or went away) fails below, so the list only shrinks.
 */
const KNOWN: { file: string; text: string; why: string }[] = [];

const DROPPED = [
  // .catch(() => undefined), .catch(() => null), .catch(() => {}), also with a named (unused) parameter.
  /\.catch\(\s*(?:\(\s*[\w$]*\s*\)|[\w$]+)\s*=>\s*(?:undefined|null|\{\s*\})\s*\)/g,
  // catch {} and catch (e) {}: the keyword, not a method called catch.
  /(?<![\w$.])catch\s*(?:\(\s*[\w$]*\s*\))?\s*\{\s*\}/g
];

interface Site {
  file: string;
  line: number;
  text: string;
}

/** A `//` comment on the line (not the `//` of a URL in a string). */
const hasComment = (line: string | undefined): boolean => line !== undefined && /(^|\s)\/\//.test(line);

/** The silent catches of one file's text, with the line each starts on. */
function silentCatches(file: string, text: string): Site[] {
  const lines = text.split('\n');
  const sites: Site[] = [];
  for (const pattern of DROPPED) {
    for (const match of text.matchAll(pattern)) {
      const line = text.slice(0, match.index).split('\n').length;
      if (hasComment(lines[line - 1]) || hasComment(lines[line - 2])) continue;
      sites.push({ file, line, text: match[0].replace(/\s+/g, ' ') });
    }
  }
  return sites.sort((a, b) => a.line - b.line);
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function sitesUnder(top: string): Site[] {
  return tsFiles(path.join(ROOT, top)).flatMap(full =>
    silentCatches(path.relative(ROOT, full).split(path.sep).join('/'), fs.readFileSync(full, 'utf8'))
  );
}

const isKnown = (site: Site) => KNOWN.some(k => k.file === site.file && k.text === site.text);

describe('no silent catch', () => {
  it.each(COVERED)('every error dropped under %s/ says why', top => {
    const unexplained = sitesUnder(top).filter(site => !isKnown(site));
    // Each entry: add a `//` comment saying why nothing is lost, or log the error with its context.
    expect(unexplained.map(s => `${s.file}:${s.line}: ${s.text}`)).toEqual([]);
  });

  it('lists as known only sites that are still there', () => {
    const all = COVERED.flatMap(sitesUnder);
    expect(
      KNOWN.filter(k => !all.some(s => s.file === k.file && s.text === k.text)).map(k => `${k.file}: ${k.text}`)
    ).toEqual([]);
  });

  it('finds each silent form and lets a reason on the line or above stand', () => {
    const text = [
      'a().catch(() => undefined);',
      'b().catch(() => null);',
      'c().catch(_err => {});',
      'try { d(); } catch {}',
      'try {',
      '  e();',
      '} catch (err) {',
      '}',
      'f().catch(() => undefined); // best effort: the file may already be gone',
      '// a probe: failing means "not yet"',
      'g().catch(() => null);',
      'try { h(); } catch { /* a reason inside the block */ }',
      "i().catch(() => 'fallback');",
      'j.catch {}'
    ].join('\n');
    expect(silentCatches('x.ts', text).map(s => s.line)).toEqual([1, 2, 3, 4, 7]);
  });
});
