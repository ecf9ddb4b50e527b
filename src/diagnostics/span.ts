/** A position in a source file. `line` and `column` are 1-based; `offset` is 0-based in UTF-16 code units. */
export interface Pos {
  line: number;
  column: number;
  offset: number;
}

/**
 * A source range. `file` is the path relative to the project root (as users see it).
 * `end` is exclusive: the position just after the last character of the range.
 */
export interface Span {
  file: string;
  start: Pos;
  end: Pos;
}

export function pointSpan(file: string, line = 1, column = 1): Span {
  const p = { line, column, offset: 0 };
  return { file, start: p, end: { ...p, column: column + 1, offset: 1 } };
}

/** The smallest span covering both. */
export function joinSpans(a: Span, b: Span): Span {
  return { file: a.file, start: a.start.offset <= b.start.offset ? a.start : b.start, end: a.end.offset >= b.end.offset ? a.end : b.end };
}

/** Line/column (1-based) of every offset in `text`, computed once per file. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  pos(offset: number): Pos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1, offset };
  }
  span(file: string, start: number, end: number): Span {
    return { file, start: this.pos(start), end: this.pos(end) };
  }
  lineText(line: number): string {
    const s = this.starts[line - 1];
    if (s === undefined) return "";
    const e = this.starts[line] ?? this.text.length + 1;
    return this.text.slice(s, e - 1).replace(/\r$/, "");
  }
}
