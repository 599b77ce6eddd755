import type { TranslationBundle } from '@jupyterlab/translation';

/** The part of a translation bundle hpclab calls: `__` and, for counts, `_n`. */
export type Words = Pick<TranslationBundle, '__' | '_n'>;

/** `%1`, `%2`… replaced by the arguments, as JupyterLab's Gettext does. */
function fill(text: string, args: unknown[]): string {
  return text.replace(/%(\d+)/g, (whole, i: string) =>
    Number(i) <= args.length ? String(args[Number(i) - 1]) : whole
  );
}

/**
 * English with the placeholders filled in, what JupyterLab's nullTranslator gives. For the layers
 * that can run before a plugin hands them the translator (the API client, the locator) and in
 * tests; importing nullTranslator itself would pull @jupyterlab/translation into them at runtime.
 */
export const english: Words = {
  __: (text: string, ...args: unknown[]) => fill(text, args),
  _n: (singular: string, plural: string, n: number, ...args: unknown[]) =>
    fill(n === 1 ? singular : plural, [n, ...args])
};
