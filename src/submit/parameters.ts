/*
 * The `parameters` cell of a notebook (papermill's convention: the code cell tagged
 * `parameters`): which names a sweep may set, and their defaults, for the Submit dialog. Only
 * plain `name = value` lines are read; anything else in the cell is left to Python.
 */

export interface NotebookParameter {
  name: string;
  /** The default as written, without the quotes of a plain string literal. */
  value: string;
}

interface CellLike {
  cell_type?: unknown;
  source?: unknown;
  metadata?: { tags?: unknown };
}

/** `name = value  # comment`, with an optional annotation (`lr: float = 0.1`). */
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=\s*(.+?)\s*$/;
const STRING = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')$/;

function withoutComment(value: string): string {
  if (STRING.test(value)) return value;
  const quoted = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*#/.exec(value);
  if (quoted) return quoted[1];
  const hash = value.indexOf('#');
  return (hash < 0 ? value : value.slice(0, hash)).trim();
}

/** The parameters of a notebook's JSON; null when it has no `parameters` cell or is not a notebook. */
export function notebookParameters(json: string): NotebookParameter[] | null {
  let notebook: { cells?: unknown };
  try {
    notebook = JSON.parse(json);
  } catch {
    return null; // not a notebook: the dialog offers free-form parameters only
  }
  const cells = Array.isArray(notebook?.cells) ? (notebook.cells as CellLike[]) : [];
  const cell = cells.find(
    c => c.cell_type === 'code' && Array.isArray(c.metadata?.tags) && c.metadata.tags.includes('parameters')
  );
  if (!cell) return null;
  const source = Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
  const found: NotebookParameter[] = [];
  for (const line of source.split('\n')) {
    const m = ASSIGNMENT.exec(line);
    if (!m || found.some(p => p.name === m[1])) continue;
    const value = withoutComment(m[2]);
    if (!value) continue;
    const s = STRING.exec(value);
    found.push({ name: m[1], value: s ? (s[1] ?? s[2]) : value });
  }
  return found;
}
