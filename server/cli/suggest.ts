/**
 * Edit distance with adjacent transpositions (optimal string alignment): `stauts` is one edit
 * from `status`, as a typist would count it.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate the user most likely meant, or undefined when none is close: a unique prefix
 * (`sess` → `sessions`), else the nearest within 1 edit for short words and 2 for longer ones,
 * so a suggestion is a likely typo rather than any word of the list.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  const bare = typed.replace(/^-+/, '');
  const prefixed = candidates.filter(c => bare.length >= 3 && c.toLowerCase().startsWith(typed));
  if (prefixed.length === 1) return prefixed[0];
  const limit = bare.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const distance = editDistance(typed, c.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [c, distance];
  }
  return best;
}

/** ` (did you mean "cancel"?)` when a candidate is close, else nothing: for messages about a mistyped word. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const near = closest(word, candidates);
  return near ? ` (did you mean "${near}"?)` : '';
}
