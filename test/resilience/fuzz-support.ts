import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';

/*
 * Shared pieces of the property-based fuzz tests: how many cases to run, the hostile values
 * every input is fed, and the tally that puts the figures in the test output.
 *
 * HPCLAB_FUZZ_RUNS sets the runs per property: 300 (the CI profile) unless told otherwise;
 * the full run is 2000 or more, which makes well over 10,000 cases per file.
 * HPCLAB_FUZZ_SEED replays a failure with the seed fast-check printed (add the printed path
 * with HPCLAB_FUZZ_PATH to go straight to the shrunk case).
 */

export const DEFAULT_FUZZ_RUNS = 300;

function positiveInt(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d{1,10}$/.test(raw) || (name === 'HPCLAB_FUZZ_RUNS' && Number(raw) < 1)) {
    throw new Error(
      `${name} must be ${name === 'HPCLAB_FUZZ_RUNS' ? 'a positive whole number of runs per property' : 'a whole number'}, got ${JSON.stringify(raw)}`
    );
  }
  return Number(raw);
}

export const FUZZ_RUNS = positiveInt('HPCLAB_FUZZ_RUNS', DEFAULT_FUZZ_RUNS) as number;

/** Per test: a few properties at 2000 runs take well under a minute; deeper runs get more. */
export const FUZZ_TEST_TIMEOUT_MS = Math.max(120_000, FUZZ_RUNS * 200);

/**
 * fc.assert parameters for one property (`runs` scales a property that is cheaper or dearer
 * than most). The time limit bounds shrinking: a counterexample of 100 KiB has a vast shrink
 * tree, and a case that fails only now and then could walk all of it. Past the limit the
 * property fails with the smallest counterexample found so far.
 */
export function fuzzParams(runs = FUZZ_RUNS): fc.Parameters<unknown> {
  const seed = positiveInt('HPCLAB_FUZZ_SEED', undefined);
  const replayPath = process.env.HPCLAB_FUZZ_PATH || undefined;
  return {
    numRuns: Math.max(1, Math.round(runs)),
    interruptAfterTimeLimit: FUZZ_TEST_TIMEOUT_MS / 2,
    markInterruptAsFailure: true,
    ...(seed !== undefined ? { seed, path: replayPath } : {})
  };
}

// ---- what a successful injection would leave behind ------------------------------------

/**
 * A file that only a shell running one of the payloads below would create. Nothing under test
 * should run a shell at all; the tests check the file never appears.
 */
export const CANARY = path.join(os.tmpdir(), `hpclab-fuzz-canary-${process.pid}`);

export function canaryTouched(): boolean {
  return fs.existsSync(CANARY);
}

/** Every character a POSIX shell gives a meaning to. */
export const SHELL_METACHARACTERS = ';|&$()<>`\'"\\*?[]{}~!#';

const INJECTIONS = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `;touch ${CANARY}`,
  `&& touch ${CANARY}`,
  `|| touch ${CANARY}`,
  `| touch ${CANARY}`,
  `'; touch ${CANARY}; '`,
  `"; touch ${CANARY}; "`,
  `\ntouch ${CANARY}\n`,
  `\r\ntouch ${CANARY}`,
  `$(touch\t${CANARY})`,
  `\${IFS}touch\${IFS}${CANARY}`,
  `> ${CANARY}`,
  `-oProxyCommand=touch ${CANARY}`,
  `--wrap=touch ${CANARY}`,
  `x\u0000$(touch ${CANARY})`
];

/** Command substitution, chaining, quoting breaks and option injection, alone or inside text. */
export const shellInjection: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc
    .tuple(
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
      fc.constantFrom(...INJECTIONS),
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 })
    )
    .map(p => p.join('')),
  fc.string({ unit: fc.constantFrom(...SHELL_METACHARACTERS), minLength: 1, maxLength: 12 }),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.constantFrom(...SHELL_METACHARACTERS),
      fc.stringMatching(/^[a-z0-9]{0,8}$/)
    )
    .map(p => p.join(''))
);

/** Line breaks, NUL and the other control characters, and Unicode's own line separators. */
export const controlCharacters: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\n',
    '\r',
    '\r\n',
    '\u0000',
    '\t',
    '\u001b[31m',
    '\u007f',
    '\u0085',
    '\u2028',
    '\u2029',
    '\u000b',
    '\u000c',
    '\b'
  ),
  fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.integer({ min: 0, max: 0x1f }).map(c => String.fromCharCode(c)),
      fc.stringMatching(/^[a-z0-9]{0,8}$/)
    )
    .map(p => p.join(''))
);

/** A lone UTF-16 surrogate: not valid Unicode, but a JS string (and JSON.stringify) may hold one. */
export const loneSurrogate: fc.Arbitrary<string> = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map(c => String.fromCharCode(c));

/** Right-to-left overrides, zero-width and look-alike characters, emoji, surrogates, anything. */
export const hostileUnicode: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u202egpu',
    'gpu\u202e1:ugp',
    '\u200b',
    'gp\u200bu',
    '\ufeffgpu',
    'gpu\u0301',
    'g\u0440u' /* Cyrillic er */,
    'ｇｐｕ',
    '１２３４',
    '٣',
    '🚀',
    '👩‍💻',
    'ß',
    'İ',
    '\ufffd',
    '\u{10ffff}'
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
  fc
    .tuple(fc.stringMatching(/^[a-z0-9]{0,6}$/), loneSurrogate, fc.stringMatching(/^[a-z0-9]{0,6}$/))
    .map(p => p.join(''))
);

/** Strings of 100 KiB and more (cheap to make: a short piece repeated). */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('a', '1', '$(x)', '../', '\n', '🚀', 'gpu:1,'),
    fc.integer({ min: 100 * 1024, max: 160 * 1024 })
  )
  .map(([piece, size]) => piece.repeat(Math.ceil(size / piece.length)));

/** Longer than a field allows but well under the body limit: 65 to 20,000 characters that would otherwise pass. */
export const longString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', '7', '/a', 'gpu:1,', 'x.'), fc.integer({ min: 65, max: 20_000 }))
  .map(([piece, size]) => piece.repeat(Math.ceil(size / piece.length)));

/**
 * Backtracking bait: a list item repeated, then a character that makes the whole match fail.
 * A pattern with two ways to read an item takes 2^n steps to give up; 18 to 28 items keep such
 * a pattern to seconds, so the case fails on time (SLOW_CASE_MS) instead of hanging the run.
 */
export const BAIT_PIECES = [
  'gpu:1,',
  'gpu:a100:2,',
  'a:1',
  'c[1-4],',
  'c1,',
  'a,',
  '1:',
  '1-',
  'a.',
  'a&',
  '(a)|',
  'u@h:22,',
  '/a',
  'a/b:',
  '%2e'
] as const;
export const BAIT_ENDINGS = ['', ',', '!', ':', '[', ' ', '\n', '-'] as const;
export const backtrackBait: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...BAIT_PIECES), fc.integer({ min: 18, max: 28 }), fc.constantFrom(...BAIT_ENDINGS))
  .map(([piece, count, end]) => piece.repeat(count) + end);

/** A value under 10,000 characters that takes longer than this to check is a denial of service (a loaded CI machine included). */
export const SLOW_CASE_MS = 500;

/** Path traversal: dot segments plain and encoded, absolute paths, home and drive paths. */
export const pathTraversal: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '../',
    '..',
    '.',
    '../../../../etc/passwd',
    '..%2f..%2fetc%2fpasswd',
    '..%2F..%2Fetc',
    '%2e%2e/',
    '%2e%2e%2f',
    '%2E%2E%5C',
    '..\\..\\windows',
    '....//',
    '%252e%252e%252f',
    '/etc/passwd',
    '/etc/shadow',
    '~/.ssh/id_ed25519',
    '~root',
    'C:\\Windows\\system32',
    '\\\\server\\share',
    'file:///etc/passwd',
    '/proc/self/environ',
    '/dev/zero',
    '.%00./',
    '..;/',
    '/..',
    'a/../../b'
  ),
  fc
    .tuple(
      fc.constantFrom('../', '..%2f', '%2e%2e/', '..\\', '%2e%2e%5c'),
      fc.integer({ min: 1, max: 8 }),
      fc.constantFrom('etc/passwd', 'home', '', 'x')
    )
    .map(([dots, n, tail]) => dots.repeat(n) + tail)
);

/** Numbers out of range or in disguise, as strings (NaN-ish, signs, spacing, exponents, other digits). */
export const numberishString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '-1',
    '-0',
    '0',
    '1e309',
    '1e3',
    '0x10',
    '0b1',
    '0o7',
    '1_000',
    ' 1',
    '1 ',
    '+1',
    '',
    '1.5',
    '.5',
    '1,000',
    '00000001',
    '١٢',
    '１',
    '9'.repeat(40),
    '-9007199254740993',
    '4294967296',
    '99999999'
  ),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.double().map(String)
);

/** Number literals as JSON text: what JSON.stringify cannot produce but a client can send. */
export const numberLiteral: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '-0',
    '0.5',
    '1e309',
    '-1e309',
    '1e-400',
    '1e3',
    '2.5e1',
    '123456789012345678901234567890',
    '9007199254740993',
    '-9007199254740993',
    '4294967296',
    '1.0000000000000002'
  ),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.integer({ min: -100_000, max: 100_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(n => JSON.stringify(n))
);

/** Any hostile string. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: shellInjection, weight: 4 },
  { arbitrary: controlCharacters, weight: 3 },
  { arbitrary: hostileUnicode, weight: 3 },
  { arbitrary: pathTraversal, weight: 3 },
  { arbitrary: numberishString, weight: 2 },
  { arbitrary: longString, weight: 1 },
  { arbitrary: backtrackBait, weight: 1 },
  { arbitrary: hugeString, weight: 1 }
);

/** JSON values of the wrong type for a string field (and for most others). */
export const wrongJsonType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}}')),
  fc.constant([[[[[]]]]])
);

/** A hostile value as JSON text, to splice into a document; `value` is what JSON.parse gives back. */
export interface HostileJson {
  /** JSON text for the value (for `1e309`, `-0` and huge integers, not what JSON.stringify would write). */
  json: string;
  value: unknown;
  /** Which family it came from, for failure messages. */
  kind: 'string' | 'number' | 'wrong-type';
}

/** Any hostile JSON value: strings from `hostileString`, number literals, wrong types. */
export const hostileJson: fc.Arbitrary<HostileJson> = fc.oneof(
  {
    arbitrary: hostileString.map((s): HostileJson => ({ json: JSON.stringify(s), value: s, kind: 'string' })),
    weight: 6
  },
  { arbitrary: numberLiteral.map((n): HostileJson => ({ json: n, value: JSON.parse(n), kind: 'number' })), weight: 2 },
  {
    arbitrary: wrongJsonType.map((v): HostileJson => ({
      json: JSON.stringify(v),
      value: JSON.parse(JSON.stringify(v)),
      kind: 'wrong-type'
    })),
    weight: 2
  }
);

const SLOT = '"\u2063hpclab-fuzz-slot\u2063"';

/**
 * JSON text of `doc` with the value at `at` (a list of keys and indices) replaced by the raw
 * hostile JSON: the way to send `1e309` or a 30-digit integer where a number belongs.
 */
export function spliceJson(doc: unknown, at: readonly (string | number)[], hostile: HostileJson): string {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (let i = 0; i < at.length - 1; i++) {
    const key = at[i];
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof at[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[at[at.length - 1]] = JSON.parse(SLOT);
  return JSON.stringify(copy).replace(SLOT, () => hostile.json);
}

/** `a.b[0]` as a list of keys and indices. */
export function pathKeys(dotted: string): (string | number)[] {
  return dotted.split(/\.|(?=\[)/).map(k => (/^\[\d+\]$/.test(k) ? Number(k.slice(1, -1)) : k));
}

/** The value at a dotted path (`env.modules[0]`), or undefined. */
export function valueAt(doc: unknown, dotted: string): unknown {
  let node: unknown = doc;
  for (const key of pathKeys(dotted)) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** `value` shortened for a failure message. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// ---- what each field may take at most -------------------------------------------------

/**
 * A field's contract, written from the documented grammar (Slurm's, OpenSSH's, a path's) and
 * not from the code under test: the most it may ever accept. A value outside it must be
 * refused; a value inside it may be accepted (then it must arrive unchanged) or refused.
 */
export type Contract = (value: unknown) => boolean;

const CONTROL = /[\u0000-\u001f\u007f]/;

function text(test: RegExp | ((s: string) => boolean), max = 4096, min = 1): Contract {
  return value =>
    typeof value === 'string' &&
    value.length >= min &&
    value.length <= max &&
    (typeof test === 'function' ? test(value) : test.test(value));
}

function intIn(min: number, max: number): Contract {
  return value => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function listOf(item: Contract, min = 0, max = Infinity): Contract {
  return value => Array.isArray(value) && value.length >= min && value.length <= max && value.every(item);
}

/** A path that reaches the cluster only as one quoted word: any printable text, no control characters, no leading "-". */
const quotedWord = (s: string) => !CONTROL.test(s) && !s.startsWith('-');
const absolutePath = (s: string) => s.startsWith('/') && !CONTROL.test(s);
const commandName = /^[A-Za-z0-9_.+][A-Za-z0-9_.+-]*$/;

const MAIL_TYPES = [
  'NONE',
  'BEGIN',
  'END',
  'FAIL',
  'REQUEUE',
  'ALL',
  'INVALID_DEPEND',
  'STAGE_OUT',
  'TIME_LIMIT',
  'TIME_LIMIT_90',
  'TIME_LIMIT_80',
  'TIME_LIMIT_50',
  'ARRAY_TASKS'
];
/** sbatch options a session's job must keep as hpclab sets them, or that have a field of their own. */
const HPCLAB_SETS = [
  'job-name',
  'comment',
  'wrap',
  'output',
  'error',
  'chdir',
  'requeue',
  'no-requeue',
  'parsable',
  'array',
  'hold',
  'wait',
  'test-only',
  'cpus-per-task',
  'partition',
  'time',
  'gres',
  'mem',
  'account',
  'qos',
  'constraint',
  'nodelist'
];

export const CONTRACTS = {
  /** Cluster, profile and kernelspec-facing names: ASCII letters, digits, `_ . -`. */
  name: text(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 64),
  kernelName: text(/^[a-z0-9][a-z0-9._-]*$/, 64),
  sessionId: text(/^[a-z0-9]{6,32}$/),
  /** Slurm job ids are 32-bit unsigned; an array task adds `_index`. */
  jobId: text(/^\d{1,10}(_\d{1,10})?$/),
  promptId: text(/^[0-9a-f]{16}$/),
  /** History's `since`: 1–999999 of s/m/h/d/w, or a real calendar date with an optional time of day. */
  since: text(s => {
    if (/^0*[1-9]\d{0,5}[smhdw]$/.test(s) && s.length <= 7) return true;
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
    if (!m) return false;
    const [y, mo, d, h = 0, mi = 0, se = 0] = m.slice(1).map(v => (v === undefined ? undefined : Number(v)));
    const date = new Date(y!, mo! - 1, d!);
    return date.getMonth() === mo! - 1 && date.getDate() === d! && h! < 24 && mi! < 60 && se! < 60;
  }),
  // Slurm's grammar for each option (sbatch(1)); only constraint and nodelist need `& | ( ) [ ] *`.
  partition: text(/^[A-Za-z0-9_][A-Za-z0-9_.,-]*$/),
  account: text(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/),
  qos: text(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/),
  time: text(/^[0-9A-Za-z][0-9A-Za-z:-]*$/),
  mem: text(/^\d+[A-Za-z]?$/),
  gres: text(/^[A-Za-z][A-Za-z0-9_.:,-]*$/),
  constraint: text(/^[A-Za-z0-9_.&|,()[\]*-]+$/),
  nodelist: text(/^[A-Za-z0-9_][A-Za-z0-9_.,[\]-]*$/),
  cpus: intIn(1, 10_000),
  // The kernel launcher's fields: they go into a 0600 connection file as JSON, never a command line.
  key: text(/^[\x21-\x7e]+$/, 512),
  signatureScheme: text(/^hmac-[a-z0-9]+$/),
  idempotencyKey: text(/^[\x21-\x7e]+$/, 200),
  displayName: text(s => !CONTROL.test(s), 200),
  // Environments: every value reaches the job script as one quoted word; setup lines are shell by design, one line each.
  venv: text(absolutePath),
  python: text(s => absolutePath(s) || commandName.test(s)),
  conda: text(s => absolutePath(s) || commandName.test(s)),
  module: text(/^[A-Za-z0-9_.+/@:][A-Za-z0-9_.+/@:-]*$/),
  setupLine: text(s => !/[\0\r\n]/.test(s), 4096, 0),
  runtime: (value: unknown) => value === 'apptainer' || value === 'singularity' || value === 'charliecloud',
  image: text(quotedWord),
  bind: text(quotedWord),
  // SSH: hpclab's own client takes these (no shell, no ssh(1) command line).
  host: text(s => !/[\s\u0000-\u001f\u007f]/.test(s) && !s.startsWith('-'), 255),
  user: text(/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/, 64),
  port: intIn(1, 65_535),
  keyFile: text(quotedWord),
  // Any number of hops: the chain's length is checked when it is used (ssh-config.ts), not here.
  proxyJump: text(
    s =>
      s === 'none' ||
      s
        .split(',')
        .every(hop =>
          /^([A-Za-z_][A-Za-z0-9_.-]*\$?@)?([A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(hop)
        ),
    Infinity
  ),
  venvRoot: text(s => (s.startsWith('/') || s.startsWith('~/')) && !CONTROL.test(s)),
  sbatchKey: text(/^[a-z][a-z-]*$/, 64),
  sbatchValue: text(s => !CONTROL.test(s), 4096, 0),
  commandArg: text(s => !/[\0\r\n]/.test(s)),
  // Batch runs: the file is staged under its own name; the rest reaches the job only as JSON
  // (the run's manifest) or as one quoted sbatch word. The run planner names the field it refuses.
  fileName: text(/^[A-Za-z0-9_+][A-Za-z0-9_+.,=@-]*$/, 200),
  runId: text(/^[A-Za-z0-9_-]{1,40}-\d{8}-\d{6}-[0-9a-f]{4}$/),
  oneLine: (max: number) => text(s => !CONTROL.test(s), max),
  // Mail and more sbatch options of a session request (sbatch(1): --mail-type, --mail-user).
  mailType: text(s => s.split(',').every(t => MAIL_TYPES.includes(t.toUpperCase())), 1000),
  mailUser: text(/^[A-Za-z0-9._%+-]+(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)?$/, 254),
  sbatchMap: (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([k, v]) =>
        /^[a-z][a-z-]{0,63}$/.test(k) &&
        !HPCLAB_SETS.includes(k) &&
        typeof v === 'string' &&
        v.length <= 1024 &&
        !CONTROL.test(v)
    ),
  paramWord: text(s => /^[A-Za-z_][A-Za-z0-9_]{0,63}=/.test(s) && !CONTROL.test(s), 100_000),
  listOf,
  intIn
} as const;

/** Characters that are only ever shell syntax: no field that reaches a command line unquoted may hold one. */
export function hasShellSyntax(s: string): boolean {
  return /[;`$<>'"\\{}~!#?\s]/.test(s);
}

// ---- the tally --------------------------------------------------------------------------

interface Count {
  cases: number;
  refused: number;
  accepted: number;
}

/**
 * Counts the cases each property ran and how many the code under test refused, and prints one
 * line per test file to stderr when the file is done, e.g.
 * `fuzz: config: 18180 cases, 15835 refused …, 2345 accepted as valid (runs/property 300, 7.5 s) | refused/cases: slurm fields 4262/4620 · …`.
 */
export class FuzzTally {
  private readonly groups = new Map<string, Count>();
  private readonly started = Date.now();

  constructor(
    private readonly file: string,
    private readonly refusedMeans = 'refused'
  ) {}

  private group(name: string): Count {
    let c = this.groups.get(name);
    if (!c) this.groups.set(name, (c = { cases: 0, refused: 0, accepted: 0 }));
    return c;
  }

  /** One case of `group`: refused (the code said no, as it should) or accepted (a valid value, checked). */
  record(group: string, outcome: 'refused' | 'accepted'): void {
    const c = this.group(group);
    c.cases++;
    c[outcome]++;
  }

  totals(): Count {
    const t = { cases: 0, refused: 0, accepted: 0 };
    for (const c of this.groups.values()) {
      t.cases += c.cases;
      t.refused += c.refused;
      t.accepted += c.accepted;
    }
    return t;
  }

  line(): string {
    const t = this.totals();
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const parts = [...this.groups].map(([name, c]) => `${name} ${c.refused}/${c.cases}`);
    return `fuzz: ${this.file}: ${t.cases} cases, ${t.refused} ${this.refusedMeans}, ${t.accepted} accepted as valid (runs/property ${FUZZ_RUNS}, ${seconds} s) | refused/cases: ${parts.join(' · ')}\n`;
  }

  /** Call from afterAll. */
  print(): void {
    process.stderr.write(this.line());
  }
}
