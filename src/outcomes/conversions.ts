/**
 * Reads a conversions export (`chuda report --conversions FILE`): CSV (UTF-8 or GBK), JSON Lines or Parquet.
 * Columns are named by chuda.yaml `conversions:` (member, kind, code, amount, time). Every row is checked on
 * its own; a bad row is rejected with its line number and a reason, never guessed at.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import iconv from "iconv-lite";
import { createDuckDB } from "../members/duckdb.js";
import { isValidDate, zonedToEpoch } from "../calendar/time.js";
import type { ConversionsMapping, Project } from "../project/types.js";
import { escapeGlob } from "../members/sql.js";

export const CONVERSION_KINDS = ["redeem", "visit", "purchase", "event"] as const;
export type ConversionKind = (typeof CONVERSION_KINDS)[number];

export interface Conversion {
  member: string;
  kind: ConversionKind;
  /** Coupon code (redeem) or event name (event). */
  code?: string;
  /** CNY (purchase; any kind may carry one, it counts as revenue). */
  amount?: number;
  /** Epoch ms. */
  at: number;
  /** 1-based line in the file (CSV: header is line 1; JSON Lines: the line; Parquet: row number). */
  line: number;
}

export interface RejectedConversion {
  line: number;
  reason: string;
}

export type ConversionsFormat = "csv" | "jsonl" | "parquet";

export interface ConversionsResult {
  format: ConversionsFormat;
  conversions: Conversion[];
  rejected: RejectedConversion[];
  /** Data rows read (accepted + rejected). */
  rows: number;
  /** Required mapped columns (member, kind, time) the file does not have. Non-empty: nothing was read. */
  missingColumns: string[];
}

export function conversionsFormat(file: string): ConversionsFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === ".parquet") return "parquet";
  if (ext === ".jsonl" || ext === ".ndjson" || ext === ".json") return "jsonl";
  return "csv";
}

const LOCAL = /^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?$/;

/**
 * A conversion time: `2026-11-25 14:30[:00]` or `2026-11-25T14:30` in the project timezone, or with an
 * offset (`+08:00`, `+0800`, `+08`, `Z`). A date without a time is not enough to place it against a send.
 */
export function parseConversionTime(value: unknown, tz: string): number | string {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "time is not a valid date" : value.getTime();
  if (typeof value !== "string") return "time must be text like 2026-11-25 14:30";
  const s = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `time ${s} has no hour and minute`;
  const m = LOCAL.exec(s);
  if (!m) return `time ${JSON.stringify(s)} is not YYYY-MM-DD HH:MM`;
  const [, date, hh, mm, ss, zone] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
  const h = Number(hh);
  const min = Number(mm);
  const sec = ss ? Number(ss) : 0;
  if (!isValidDate(date) || h > 23 || min > 59 || sec > 59) return `time ${JSON.stringify(s)} is not a real moment`;
  if (!zone) return zonedToEpoch(date, h * 60 + min, tz) + sec * 1000;
  let offset = 0;
  if (zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || "0"));
  }
  const [y, mo, d] = date.split("-").map(Number) as [number, number, number];
  return Date.UTC(y, mo - 1, d, h, min, sec) - offset * 60_000;
}

const isBlank = (v: unknown) => v === null || v === undefined || (typeof v === "string" && v.trim() === "");

/** Checks one row (column name → value). Returns the conversion, or why the row is rejected. */
export function parseConversionRow(row: Record<string, unknown>, mapping: ConversionsMapping, tz: string, line: number): Conversion | RejectedConversion {
  const reject = (reason: string): RejectedConversion => ({ line, reason });
  const member = row[mapping.member];
  if (isBlank(member)) return reject(`no member (${mapping.member})`);
  const kindRaw = row[mapping.kind];
  if (isBlank(kindRaw)) return reject(`no kind (${mapping.kind})`);
  const kind = String(kindRaw).trim().toLowerCase();
  if (!(CONVERSION_KINDS as readonly string[]).includes(kind))
    return reject(`kind ${JSON.stringify(String(kindRaw))} is not one of ${CONVERSION_KINDS.join(", ")}`);
  const codeRaw = row[mapping.code];
  const code = isBlank(codeRaw) ? undefined : String(codeRaw).trim();
  if ((kind === "redeem" || kind === "event") && code === undefined)
    return reject(`a ${kind} needs a ${kind === "redeem" ? "coupon code" : "event name"} (${mapping.code})`);
  let amount: number | undefined;
  const amountRaw = row[mapping.amount];
  if (!isBlank(amountRaw)) {
    const a = typeof amountRaw === "number" ? amountRaw : parseAmount(String(amountRaw));
    if (!Number.isFinite(a) || a < 0) return reject(`amount ${JSON.stringify(String(amountRaw))} is not a number of CNY`);
    amount = a;
  }
  const timeRaw = row[mapping.time];
  if (isBlank(timeRaw)) return reject(`no time (${mapping.time})`);
  const at = parseConversionTime(timeRaw, tz);
  if (typeof at === "string") return reject(at);
  const out: Conversion = { member: String(member).trim(), kind: kind as ConversionKind, at, line };
  if (code !== undefined) out.code = code;
  if (amount !== undefined) out.amount = amount;
  return out;
}

/**
 * An amount as exports write it: `1234.5`, `¥1,234.50`, and as GBK exports from Excel write it, with the
 * full-width `￥` and `，` (full-width digits and a trailing `元` too). NaN when it is not a number.
 */
export function parseAmount(text: string): number {
  // Full-width digits and point (０-９, ．) are their ASCII selves.
  const ascii = text.replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  const t = ascii
    .trim()
    .replace(/^[¥￥]\s*/, "")
    .replace(/\s*元$/, "")
    .replace(/[,，]/g, "");
  return /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i.test(t) ? Number(t) : NaN;
}

/** A SQL string literal of a file path that DuckDB reads as written: its glob characters are escaped (`*` → `[*]`). */
const sqlString = (s: string) => `'${escapeGlob(s).replace(/'/g, "''")}'`;

/** Reads and checks a conversions export. I/O errors (no such file) are thrown for the CLI to report. */
export async function readConversions(
  file: string,
  project: Pick<Project, "conversions" | "timezone">,
  opts: { encoding?: "auto" | "utf-8" | "gbk" } = {},
): Promise<ConversionsResult> {
  const format = conversionsFormat(file);
  const mapping = project.conversions;
  const rows: { line: number; row: Record<string, unknown> }[] = [];
  let columns: string[] = [];
  if (format === "jsonl") {
    const text = await readText(file, opts.encoding ?? "auto");
    const seen = new Set<string>();
    const lines = text.split(/\r?\n/);
    const bad: RejectedConversion[] = [];
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const v = JSON.parse(l) as unknown;
        if (v && typeof v === "object" && !Array.isArray(v)) {
          for (const k of Object.keys(v)) seen.add(k);
          rows.push({ line: i + 1, row: v as Record<string, unknown> });
        } else bad.push({ line: i + 1, reason: "not a JSON object" });
      } catch {
        bad.push({ line: i + 1, reason: "not valid JSON" });
      }
    });
    columns = [...seen];
    return finish(format, rows, columns, mapping, project.timezone, bad);
  }
  const instance = await createDuckDB(":memory:");
  const conn = await instance.connect();
  let tmp: string | undefined;
  try {
    let source: string;
    if (format === "parquet") source = `read_parquet(${sqlString(file)})`;
    else {
      let csvFile = file;
      const bytes = await readFile(file);
      const enc = opts.encoding ?? "auto";
      if (enc === "gbk" || (enc === "auto" && !isUtf8(bytes))) {
        tmp = await mkdtemp(path.join(tmpdir(), "chuda-conv-"));
        csvFile = path.join(tmp, "conversions.csv");
        await writeFile(csvFile, iconv.decode(bytes, "gbk"), "utf8");
      }
      source = `read_csv(${sqlString(csvFile)}, header = true, all_varchar = true, auto_detect = true)`;
    }
    const reader = await conn.runAndReadAll(`SELECT row_number() OVER () AS __chuda_row, COLUMNS(*)::VARCHAR FROM ${source}`);
    columns = reader.columnNames().filter((c) => c !== "__chuda_row");
    for (const r of reader.getRowObjectsJS()) {
      const n = Number(r.__chuda_row);
      rows.push({ line: format === "csv" ? n + 1 : n, row: r as Record<string, unknown> });
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return finish(format, rows, columns, mapping, project.timezone, []);
}

function finish(
  format: ConversionsFormat,
  rows: { line: number; row: Record<string, unknown> }[],
  columns: string[],
  mapping: ConversionsMapping,
  tz: string,
  rejected: RejectedConversion[],
): ConversionsResult {
  const total = rows.length + rejected.length;
  const have = new Set(columns);
  const missingColumns = [mapping.member, mapping.kind, mapping.time].filter((c) => !have.has(c));
  if (missingColumns.length && rows.length) return { format, conversions: [], rejected, rows: total, missingColumns };
  const conversions: Conversion[] = [];
  for (const { line, row } of rows) {
    const r = parseConversionRow(row, mapping, tz, line);
    if ("reason" in r) rejected.push(r);
    else conversions.push(r);
  }
  rejected.sort((a, b) => a.line - b.line);
  return { format, conversions, rejected, rows: total, missingColumns: [] };
}

async function readText(file: string, encoding: "auto" | "utf-8" | "gbk"): Promise<string> {
  const bytes = await readFile(file);
  if (encoding === "gbk" || (encoding === "auto" && !isUtf8(bytes))) return iconv.decode(bytes, "gbk");
  return bytes.toString("utf8").replace(/^\uFEFF/, "");
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
