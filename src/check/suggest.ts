/**
 * "did you mean `x`?" for the checker: the shared Levenshtein suggestion, and failing that, a candidate that
 * differs by one swap of adjacent letters (`teir` → `tier`, `glod` → `gold`), the commonest typo, which
 * plain Levenshtein counts as two edits.
 */
import { didYouMean } from "./diagnostics/diag.js";

export function suggestion(name: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const plain = didYouMean(name, list);
  if (plain) return plain;
  const swapped = list.find((c) => isAdjacentSwap(name.toLowerCase(), c.toLowerCase()));
  return swapped === undefined ? undefined : `did you mean \`${swapped}\`?`;
}

function isAdjacentSwap(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
