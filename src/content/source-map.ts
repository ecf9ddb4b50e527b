/**
 * Maps positions inside a YAML string value back to offsets in the file, so that a Handlebars error or a
 * variable in `text: "…{{nmae}}…"` points at its exact line and column. Plain, single-quoted, double-quoted
 * (with escapes) and literal block (`|`) scalars map exactly; anything else (folded lines) maps to the
 * scalar's start.
 */
import { Scalar } from "yaml";

/** value index → file offset, for every index 0..value.length (the last is the end). */
export type OffsetMap = (index: number) => number;

export function scalarOffsets(text: string, node: Scalar): OffsetMap {
  const [start, end] = node.range ?? [0, 0];
  const value = typeof node.value === "string" ? node.value : String(node.value ?? "");
  const fallback: OffsetMap = () => start;
  const src = text.slice(start, end);
  let map: number[] | undefined;
  switch (node.type) {
    case Scalar.PLAIN:
      map = src === value ? identity(start, value.length) : undefined;
      break;
    case Scalar.QUOTE_SINGLE:
      map = decodeQuoted(src, start, value, false);
      break;
    case Scalar.QUOTE_DOUBLE:
      map = decodeQuoted(src, start, value, true);
      break;
    case Scalar.BLOCK_LITERAL:
      map = literalBlock(src, start, value);
      break;
    default:
      map = undefined;
  }
  if (!map) return fallback;
  const m = map;
  return (i) => m[Math.max(0, Math.min(i, m.length - 1))]!;
}

function identity(start: number, n: number): number[] {
  const out = new Array<number>(n + 1);
  for (let i = 0; i <= n; i++) out[i] = start + i;
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  '"': '"',
  "\\": "\\",
  "/": "/",
  "0": "\0",
  " ": " ",
  a: "\x07",
  b: "\b",
  e: "\x1b",
  f: "\f",
  v: "\v",
  N: "\x85",
  _: "\xa0",
};

function decodeQuoted(src: string, start: number, value: string, double: boolean): number[] | undefined {
  if (src.length < 2 || src.includes("\n")) return undefined;
  let out = "";
  const map: number[] = [];
  let i = 1;
  const last = src.length - 1;
  while (i < last) {
    const c = src[i]!;
    if (double && c === "\\") {
      const n = src[i + 1] ?? "";
      const hex = n === "x" ? 2 : n === "u" ? 4 : n === "U" ? 8 : 0;
      let ch: string;
      let width: number;
      if (hex) {
        const cp = parseInt(src.slice(i + 2, i + 2 + hex), 16);
        if (Number.isNaN(cp)) return undefined;
        ch = String.fromCodePoint(cp);
        width = 2 + hex;
      } else if (n in SIMPLE_ESCAPES) {
        ch = SIMPLE_ESCAPES[n]!;
        width = 2;
      } else return undefined;
      for (let k = 0; k < ch.length; k++) map.push(start + i);
      out += ch;
      i += width;
    } else if (!double && c === "'" && src[i + 1] === "'") {
      map.push(start + i);
      out += "'";
      i += 2;
    } else {
      map.push(start + i);
      out += c;
      i++;
    }
  }
  map.push(start + i);
  return out === value ? map : undefined;
}

function literalBlock(src: string, start: number, value: string): number[] | undefined {
  const nl = src.indexOf("\n");
  if (nl < 0) return undefined;
  let pos = nl + 1;
  const lines: { text: string; at: number }[] = [];
  while (pos <= src.length) {
    const e = src.indexOf("\n", pos);
    const lineEnd = e < 0 ? src.length : e;
    lines.push({ text: src.slice(pos, lineEnd), at: pos });
    if (e < 0) break;
    pos = e + 1;
  }
  const indents = lines.filter((l) => l.text.trim() !== "").map((l) => l.text.length - l.text.trimStart().length);
  if (!indents.length) return undefined;
  const indent = Math.min(...indents);
  let out = "";
  const map: number[] = [];
  for (const l of lines) {
    const body = l.text.slice(Math.min(indent, l.text.length));
    const off = Math.min(indent, l.text.length);
    for (let k = 0; k < body.length; k++) map.push(start + l.at + off + k);
    out += body;
    map.push(start + l.at + l.text.length);
    out += "\n";
  }
  // Chomping changes only the end: accept when the value is a prefix of what the lines give.
  if (!out.startsWith(value) && !value.startsWith(out.replace(/\n+$/, ""))) return undefined;
  while (map.length < value.length + 1) map.push(start + src.length);
  return map.slice(0, value.length + 1);
}

/** The index in `value` of a Handlebars location (1-based line, 0-based column). */
export function indexOfLoc(value: string, line: number, column: number): number {
  let idx = 0;
  for (let l = 1; l < line; l++) {
    const nl = value.indexOf("\n", idx);
    if (nl < 0) return value.length;
    idx = nl + 1;
  }
  return Math.min(idx + column, value.length);
}
