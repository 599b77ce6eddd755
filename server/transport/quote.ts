/**
 * The one place that turns an argv array into a command line for a remote POSIX shell.
 *
 * SSH has no argv: the server hands one string to the user's login shell (`$SHELL -c`), so
 * every word must survive that shell unchanged. Single quotes are the only quoting with no
 * special characters inside, so each word is wrapped in '…' and an embedded ' becomes '\''.
 * This assumes a POSIX-family login shell (sh, bash, dash, ksh, zsh), as Slurm sites have;
 * csh/tcsh treat `!` and newlines inside quotes differently and are not supported.
 */

/** Words made only of these characters mean the same bare as quoted, in any POSIX shell. */
const BARE_SAFE = /^[A-Za-z0-9_/.,:=@%+-]+$/;

/**
 * Words the shell reads as syntax, not a command name, when they come first (POSIX, bash and
 * zsh reserved words). Quoted, they are ordinary command names.
 */
const RESERVED = new Set([
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'if',
  'in',
  'then',
  'until',
  'while',
  'function',
  'select',
  'time',
  'coproc',
  'repeat',
  'foreach',
  'end',
  'nocorrect',
  'noglob'
]);

/** Single-quotes one word; `'` becomes `'\''` (close, escaped quote, reopen). */
export function quoteWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function canStayBare(word: string, first: boolean): boolean {
  if (!BARE_SAFE.test(word)) return false;
  // zsh expands a word starting with `=` to a command's path (`=ls` → /bin/ls).
  if (word.startsWith('=')) return false;
  if (first) {
    // First word: `A=b` would be a variable assignment, `%1` a job, `time` a keyword.
    if (word.includes('=') || word.startsWith('%') || RESERVED.has(word)) return false;
  }
  return true;
}

/**
 * Renders argv for a remote POSIX shell so that the remote program receives exactly these
 * words. Plain words (paths, options, job ids) stay bare so logs are readable; everything
 * else is single-quoted. NUL cannot be passed in an argv at all, so it is refused rather
 * than silently truncating the word on the far side.
 */
export function renderRemoteCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('renderRemoteCommand needs at least one word');
  return argv
    .map((word, i) => {
      if (typeof word !== 'string') throw new TypeError(`argv[${i}] is not a string`);
      if (word.includes('\0')) throw new TypeError(`argv[${i}] contains a NUL byte, which no command line can carry`);
      return canStayBare(word, i === 0) ? word : quoteWord(word);
    })
    .join(' ');
}
