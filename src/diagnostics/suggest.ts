/**
 * The one "did you mean `x`?" of the program, for every name a user types: identifiers and keywords in .chuda files,
 * keys and values in chuda.yaml, templates and campaign tests, and the CLI's commands, flags and campaign names.
 *
 * Closeness is the optimal-string-alignment distance, case-insensitive: insertions, deletions, substitutions and
 * one swap of adjacent letters each cost one edit. The swap (`teir` → `tier`, `--dry-rnu` → `--dry-run`) is the
 * commonest typo, and plain Levenshtein counts it as two.
 */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  // A third of the longer name may differ (at least one edit): `glod` → `gold`, but never `xyz` → `tier`.
  const limit = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

/** `did you mean \`x\`?`, the help line every stage shows for a misspelt name; undefined when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  return s === undefined ? undefined : `did you mean \`${s}\`?`;
}

/** Optimal string alignment: Levenshtein plus the transposition of two adjacent characters, each one edit. */
export function editDistance(a: string, b: string): number {
  // Three rows: the one before the previous is needed for transpositions.
  let before = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}
