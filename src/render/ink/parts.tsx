/**
 * Small pieces shared by the Ink views: a styled text segment that drops all styling when colour is off
 * (NO_COLOR, CI, not a TTY), a progress bar, and a column-aligned table. Widths count CJK as two cells.
 */
import { Box, Text } from "ink";
import { displayWidth, padEnd, padStart } from "../style.js";

export type Tone = "plain" | "dim" | "bold" | "green" | "yellow" | "red" | "cyan";

export interface Seg {
  text: string;
  tone?: Tone;
}

/** One run of text; with `color` false it never carries an escape code. */
export function Styled({ text, tone, color }: Seg & { color: boolean }) {
  if (!color || !tone || tone === "plain") return <Text>{text}</Text>;
  if (tone === "dim") return <Text dimColor>{text}</Text>;
  if (tone === "bold") return <Text bold>{text}</Text>;
  return <Text color={tone}>{text}</Text>;
}

/** The cells of a bar: `full` filled, the rest empty, and the rounded percentage (clamped to 0–100). */
export function barCells(done: number, total: number, width: number): { full: number; empty: number; pct: number } {
  const f = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const full = Math.round(f * width);
  return { full, empty: width - full, pct: Math.round(f * 100) };
}

/** A bar as segments: `█` filled, `░` empty (readable without colour), then the percentage unless `pct` is false. */
export function barSegs(done: number, total: number, width: number, opts: { tone?: Tone; pct?: boolean } = {}): Seg[] {
  const { full, empty, pct } = barCells(done, total, width);
  const out: Seg[] = [
    { text: "█".repeat(full), tone: opts.tone ?? "green" },
    { text: "░".repeat(empty), tone: "dim" },
  ];
  if (opts.pct !== false) out.push({ text: ` ${String(pct).padStart(3)}%` });
  return out;
}

export function Line({ segs, color }: { segs: Seg[]; color: boolean }) {
  return (
    <Text>
      {segs.map((s, i) => (
        <Styled key={i} text={s.text} tone={s.tone} color={color} />
      ))}
    </Text>
  );
}

export interface Column {
  header: string;
  right?: boolean;
}

/** A cell: one tone for the whole text, or several segments (a bar). */
export type Cell = Seg | { segs: Seg[] };

const cellSegs = (c: Cell): Seg[] => ("segs" in c ? c.segs : [c]);
const cellWidth = (c: Cell) => cellSegs(c).reduce((w, s) => w + displayWidth(s.text), 0);

/** Lays a table out as lines of segments: bold header, a rule, then rows; two spaces between columns. */
export function tableLines(columns: Column[], rows: Cell[][]): Seg[][] {
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => (r[i] ? cellWidth(r[i]!) : 0))));
  const lines: Seg[][] = [];
  lines.push([
    {
      text: columns
        .map((c, i) => (c.right ? padStart(c.header, widths[i]!) : padEnd(c.header, widths[i]!)))
        .join("  ")
        .trimEnd(),
      tone: "bold",
    },
  ]);
  lines.push([{ text: widths.map((w) => "─".repeat(w)).join("  "), tone: "dim" }]);
  for (const r of rows) {
    const segs: Seg[] = [];
    columns.forEach((col, i) => {
      const c = r[i] ?? { text: "" };
      const pad = " ".repeat(Math.max(0, widths[i]! - cellWidth(c)));
      if (i) segs.push({ text: "  " });
      if (col.right) segs.push({ text: pad });
      segs.push(...cellSegs(c));
      if (!col.right && i < columns.length - 1) segs.push({ text: pad });
    });
    lines.push(segs);
  }
  return lines;
}

export const linesWidth = (lines: Seg[][]) => Math.max(0, ...lines.map((l) => l.reduce((w, s) => w + displayWidth(s.text), 0)));

export function Table({ lines, color }: { lines: Seg[][]; color: boolean }) {
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Line key={i} segs={l} color={color} />
      ))}
    </Box>
  );
}
