import type { Span } from "./span.js";
import { format, type Diagnostic, type MessageDef } from "./types.js";
import { shortened, showInvisible } from "./escape.js";

/**
 * What a file's text puts into a message is shown safely: invisible characters by code point, and an argument (a
 * name or value) longer than 240 characters cut to 60 (a 1 MB identifier is not echoed). Arguments are cut, never
 * the message around them.
 */
const readable = (text: string): string => showInvisible(text);
const argument = (a: string | number): string | number => (typeof a === "string" && a.length > 240 ? shortened(a) : a);

/** Builds a Diagnostic from a table entry. `help` overrides the table's help template when given. */
export function diag(
  def: MessageDef,
  span: Span,
  args: readonly (string | number)[] = [],
  extra: { help?: string; context?: Span; related?: Diagnostic["related"]; severity?: Diagnostic["severity"] } = {},
): Diagnostic {
  const d: Diagnostic = { code: def.code, severity: extra.severity ?? def.severity, message: readable(format(def.message, args.map(argument))), span };
  const help = extra.help ?? (def.help ? format(def.help, args.map(argument)) : undefined);
  if (help) d.help = readable(help);
  if (extra.context) d.context = extra.context;
  if (extra.related) d.related = extra.related;
  return d;
}

/**
 * The one "did you mean `x`?" of the program: the closest candidate by Levenshtein distance, and failing that, a
 * candidate that differs by one swap of adjacent letters (`teir` → `tier`, `nmae` → `name`), the commonest typo,
 * which plain Levenshtein counts as two edits.
 */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  return closest(name, list) ?? list.find((c) => isAdjacentSwap(name.toLowerCase(), c.toLowerCase()));
}

function isAdjacentSwap(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestScore <= limit ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(name, candidates);
  return s === undefined ? undefined : `did you mean \`${s}\`?`;
}

function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagPrev = tmp;
    }
  }
  return prev[b.length]!;
}
