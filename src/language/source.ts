/**
 * Reading a source file (`.chuda`, template): bytes → text. Invalid UTF-8 is found, not silently turned into
 * U+FFFD (which would be sent); files too large to check are refused before anything parses them.
 */

/** A `.chuda` file larger than this is refused: real ones are a few kilobytes, and checking costs memory. */
export const MAX_SOURCE_FILE_BYTES = 2 * 1024 * 1024;
/** All `.chuda` files of a repository together: about 40,000 campaigns, what `validate` checks in 1.5 GB. */
export const MAX_REPOSITORY_BYTES = 10 * 1024 * 1024;
/** Diagnostics shown per file; the rest are counted in one last diagnostic. */
export const MAX_DIAGNOSTICS_PER_FILE = 100;

export interface DecodedSource {
  text: string;
  /** Byte offset of the first invalid UTF-8 sequence, and how many there are. */
  invalid?: { offset: number; count: number };
}

/** Length of the valid UTF-8 sequence at `i`, or 0 when the bytes there are not UTF-8 (overlongs and surrogates too). */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

export function decodeSource(bytes: Uint8Array): DecodedSource {
  const text = new TextDecoder("utf-8").decode(bytes);
  if (!text.includes("\ufffd")) return { text };
  let first = -1;
  let count = 0;
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      if (first < 0) first = i;
      count++;
      i++;
    } else i += n;
  }
  return first < 0 ? { text } : { text, invalid: { offset: first, count } };
}

/** Line and column (1-based, in characters) of a byte offset, counting in the valid text before it. */
export function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number; offset: number } {
  const before = new TextDecoder("utf-8").decode(bytes.subarray(0, offset));
  const lineStart = before.lastIndexOf("\n") + 1;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (before.charCodeAt(i) === 10) line++;
  return { line, column: [...before.slice(lineStart)].length + 1, offset: before.length };
}
