import { RunInputError } from './run-script';

/*
 * `--param NAME=V1,V2,…` words → the grid of parameter sets a run sweeps, one array task each
 * (the first name varies slowest, as in nested loops written in order). Values are typed as
 * papermill's `-p` types them: integers, floats, true/false, none/null; anything else is the
 * string as typed, passed verbatim (it reaches Python as a repr, a script as an env variable).
 */

export type ParamValue = string | number | boolean | null;
export type ParamSet = Record<string, ParamValue>;

/** Slurm's default MaxArraySize is 1001 (indexes 0–1000); a bigger grid is surely a typo. */
export const MAX_TASKS = 1000;

/** A Python identifier (it becomes a variable in the notebook) that is not a keyword hpclab knows of. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' '
  )
);

/** `a\,b,c` → ['a,b', 'c']: a comma inside a value is written `\,`. */
function splitValues(text: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (text[i] === ',') {
      values.push(current);
      current = '';
    } else current += text[i];
  }
  values.push(current);
  return values;
}

export function typeValue(text: string): ParamValue {
  if (/^[+-]?\d{1,15}$/.test(text)) return Number(text);
  if (/^[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
  if (/^(true|True)$/.test(text)) return true;
  if (/^(false|False)$/.test(text)) return false;
  if (/^(none|None|null)$/.test(text)) return null;
  return text;
}

/** The grid, or [] when no --param was given. Names each bad word and how to fix it. */
export function parseParams(words: readonly string[]): ParamSet[] {
  const axes: [string, ParamValue[]][] = [];
  let size = 0;
  for (const [i, word] of words.entries()) {
    const at = word.indexOf('=');
    const name = at < 0 ? word : word.slice(0, at);
    if (at < 0 || !NAME.test(name) || PYTHON_KEYWORDS.has(name))
      throw new RunInputError(
        `--param ${JSON.stringify(word)}: expected NAME=V1,V2,… with NAME a Python variable name (letters, digits, _), e.g. --param lr=0.1,0.01`,
        `params[${i}]`
      );
    if (axes.some(([n]) => n === name))
      throw new RunInputError(
        `--param ${name}: given twice; list all its values once, e.g. ${name}=1,2,3`,
        `params[${i}]`
      );
    const values = splitValues(word.slice(at + 1)).map(typeValue);
    axes.push([name, values]);
    size = (size || 1) * values.length;
    if (size > MAX_TASKS)
      throw new RunInputError(
        `--param: the grid has ${size} combinations; at most ${MAX_TASKS} tasks fit one job array (Slurm's MaxArraySize): sweep fewer values`,
        `params[${i}]`
      );
  }
  let grid: ParamSet[] = axes.length > 0 ? [{}] : [];
  for (const [name, values] of axes) grid = grid.flatMap(set => values.map(value => ({ ...set, [name]: value })));
  return grid;
}
